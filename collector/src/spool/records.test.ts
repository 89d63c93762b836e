import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeRecords, encodeRecord, encodeRecords, encodeTextRecord } from './records.js'

const text = (value: string) => Buffer.from(value)
const encodeAll = (values: string[]) =>
  Buffer.concat(values.map((value) => encodeRecord(text(value))))
const decodeText = (data: Buffer) => decodeRecords(data).records.map((record) => record.toString())

describe('spool records', () => {
  it('round-trip', () => {
    const values = ['{"a":1}', '', 'x'.repeat(70_000), '{"b":"é"}']
    expect(decodeText(encodeAll(values))).toEqual(values)
    expect(decodeRecords(encodeAll(values)).tornTail).toBe(false)
  })

  it('detect a torn tail and keep everything before it', () => {
    const whole = encodeAll(['one', 'two', 'three'])
    for (let cut = whole.length - 1; cut > whole.length - 14; cut--) {
      const decoded = decodeRecords(whole.subarray(0, cut))
      expect(decoded.records.map(String)).toEqual(['one', 'two'])
      expect(decoded.tornTail).toBe(true)
      expect(decoded.validLength).toBe(encodeAll(['one', 'two']).length)
    }
  })

  it('skip a corrupt record in the middle and keep the rest', () => {
    const data = encodeAll(['first', 'second', 'third'])
    const corrupt = Buffer.from(data)
    const at = encodeAll(['first']).length + 12 // a payload byte of "second"
    corrupt[at] = (corrupt[at] ?? 0) ^ 0xff
    const decoded = decodeRecords(corrupt)
    expect(decoded.records.map(String)).toEqual(['first', 'third'])
    expect(decoded.skipped).toHaveLength(1)
  })

  it('never return a record that was not written, whatever the damage', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 50 }), { maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }),
        fc.nat(),
        (values, flips, cut) => {
          const data = Buffer.from(encodeAll(values))
          for (const [position, byte] of flips)
            if (data.length > 0) data[position % data.length] = byte
          const damaged = data.subarray(0, data.length === 0 ? 0 : cut % (data.length + 1))
          const decoded = decodeRecords(damaged).records.map(String)
          // Every decoded record is one that was written (a checksum collision aside).
          for (const record of decoded) expect(values).toContain(record)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('text records', () => {
  it('encode as the bytes of the text would', () => {
    for (const value of ['', '{"a":"é💥"}', 'x'.repeat(5000)]) {
      expect(encodeTextRecord(value)).toEqual(encodeRecord(Buffer.from(value)))
    }
  })

  it('encode together as they would one after the other', () => {
    const values = ['', '{"a":"é💥"}', 'x'.repeat(5000)]
    const mixed = [values[0]!, Buffer.from(values[1]!), values[2]!]
    expect(encodeRecords(mixed)).toEqual(
      Buffer.concat(values.map((value) => encodeTextRecord(value))),
    )
    expect(decodeRecords(encodeRecords(values)).records.map(String)).toEqual(values)
  })
})
