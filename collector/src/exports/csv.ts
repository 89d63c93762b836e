/** CSV as RFC 4180 has it: fields quoted when they hold a comma, a quote or a line break. */

/** One CSV field, quoted when RFC 4180 needs it. */
export function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One CSV record, CRLF-terminated. */
export const csvLine = (fields: (string | number | null)[]) =>
  `${fields.map(csvField).join(',')}\r\n`
