/**
 * Structured JSON logs, one object a line. Every string that passes through is
 * scrubbed of anything shaped like an IP address, as a second line of defence: the
 * code never hands an address to the logger, and an error message must not either.
 */
import ipaddr from 'ipaddr.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
type Fields = Record<string, unknown>

export interface Logger {
  debug(message: string, fields?: Fields): void
  info(message: string, fields?: Fields): void
  warn(message: string, fields?: Fields): void
  error(message: string, fields?: Fields): void
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g
// Candidates: runs of hex groups and colons; only valid IPv6 addresses are replaced.
const IPV6_CANDIDATE = /(?<![\w:.])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])/gi

/** Replace anything that looks like an IPv4 or IPv6 address. */
export function scrubAddresses(text: string): string {
  return text
    .replace(IPV4, '[ip]')
    .replace(IPV6_CANDIDATE, (match) => (ipaddr.IPv6.isValid(match) ? '[ip]' : match))
}

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: scrubAddresses(value.message),
      stack: scrubAddresses(value.stack ?? ''),
    }
  }
  if (typeof value === 'string') return scrubAddresses(value)
  return value
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = RANK[level]
  const log = (lvl: Exclude<LogLevel, 'silent'>, message: string, fields: Fields = {}) => {
    if (RANK[lvl] < threshold) return
    const record: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: lvl,
      msg: scrubAddresses(message),
    }
    for (const [key, value] of Object.entries(fields)) record[key] = serialize(value)
    write(JSON.stringify(record) + '\n')
  }
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  }
}
