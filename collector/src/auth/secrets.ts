/**
 * Secrets of accounts: random tokens (session ids, API keys, setup codes) from the
 * platform's cryptographic RNG, their SHA-256 digests (all the store ever holds), and
 * password hashes with Argon2id.
 */
import { createHash } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'

/** Random bytes as base64url (no padding). */
export function randomToken(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64url')
}

/** The hex SHA-256 of a token: how session ids and keys are stored and looked up. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Compare two secrets in time that does not depend on where they differ. */
export { sameSecret } from '../http/secret.js'

/** API keys: a recognisable prefix and 192 random bits. */
export const KEY_PREFIX = 'glk_'
export const newApiKey = (): string => `${KEY_PREFIX}${randomToken(24)}`

/** Login session ids: 256 random bits. */
export const newSessionId = (): string => randomToken(32)

/** The key of a credential's sticky noise: 256 random bits, hex. */
export const newNoiseSecret = (): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')

/** Record ids (users, keys): random, not secret. */
export const newId = (): string => randomToken(12)

// No 0/O, 1/I/L, so a code read from a log is typed right the first time.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'

/** A one-time setup code, XXXX-XXXX (about 40 bits; tries are rate-limited). */
export function newSetupCode(): string {
  let code = ''
  // Rejection sampling keeps every character equally likely.
  while (code.length < 8) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      if (byte < 248 && code.length < 8) code += CODE_ALPHABET[byte % CODE_ALPHABET.length]
    }
  }
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/**
 * OWASP's baseline for Argon2id: 19 MiB, 2 passes, 1 lane. Argon2id is the library's
 * default algorithm (its enum cannot be named under isolatedModules); tests check the
 * stored hashes begin with $argon2id$.
 */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2)

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}

let decoy: Promise<string> | undefined
/**
 * Spend the time a real check takes when the account does not exist, so response
 * times do not tell which e-mail addresses have accounts.
 */
export async function verifyNothing(password: string): Promise<false> {
  decoy ??= hashPassword(randomToken(16))
  await verifyPassword(await decoy, password)
  return false
}
