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

/** How often a repeated error is logged again (with its count) while it lasts. */
export const LOG_REPEAT_INTERVAL_MS = 60_000
/** Distinct keys remembered at once; the oldest is forgotten past this. */
const THROTTLE_KEYS = 200

/**
 * Logs a repeating error once per interval instead of once per occurrence: the first
 * occurrence is logged at once with all its detail; later ones are counted, and the
 * next line after the interval carries `"repeated": N` (occurrences since the last
 * line, this one included) and the error's message without its stack.
 */
export interface LogThrottle {
  log(level: Exclude<LogLevel, 'silent'>, key: string, message: string, fields?: Fields): void
  /**
   * The fault logged under `key` is over: one line with `message` and `failures` (how
   * many occurrences in all), and the next occurrence is logged in full again. Nothing
   * is logged when the key was not failing, so it is cheap to call on every success.
   */
  resolve(key: string, message: string, fields?: Fields): void
}

const brief = (fields: Fields): Fields =>
  Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [
      key,
      value instanceof Error ? { name: value.name, message: value.message } : value,
    ]),
  )

export function createLogThrottle(
  logger: Logger,
  intervalMs = LOG_REPEAT_INTERVAL_MS,
  now: () => number = Date.now,
): LogThrottle {
  const seen = new Map<string, { loggedAt: number; held: number; total: number }>()
  return {
    log(level, key, message, fields = {}) {
      const state = seen.get(key)
      if (state === undefined) {
        if (seen.size >= THROTTLE_KEYS) seen.delete(seen.keys().next().value ?? '')
        seen.set(key, { loggedAt: now(), held: 0, total: 1 })
        logger[level](message, fields)
        return
      }
      state.total++
      state.held++
      if (now() - state.loggedAt < intervalMs) return
      logger[level](message, { ...brief(fields), repeated: state.held })
      state.loggedAt = now()
      state.held = 0
    },
    resolve(key, message, fields = {}) {
      const state = seen.get(key)
      if (state === undefined) return
      seen.delete(key)
      logger.info(message, { ...fields, failures: state.total })
    },
  }
}
