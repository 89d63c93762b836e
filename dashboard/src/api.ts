/**
 * The one door to the collector: JSON over fetch on the same origin (the session cookie
 * rides along), errors turned into ApiError with the server's code and message.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

async function errorFrom(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`
  let message = `The collector answered ${response.status} ${response.statusText}.`
  try {
    const body: unknown = await response.json()
    if (isRecord(body) && isRecord(body.error)) {
      if (typeof body.error.code === 'string') code = body.error.code
      if (typeof body.error.message === 'string') message = body.error.message
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message)
}

/** Listeners told when any request answers 401, so the app can show the sign-in. */
const unauthorizedListeners = new Set<() => void>()
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

/**
 * A third party's credential (the shared view's token and password): sent as headers,
 * and then no cookie rides along, so a signed-in owner opening a share sees what the
 * share shows, nothing more.
 */
export interface Credential {
  headers: Record<string, string>
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  credential?: Credential,
): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: credential === undefined ? 'same-origin' : 'omit',
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...credential?.headers,
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(
      0,
      'network',
      'The collector cannot be reached. Check the connection and retry.',
    )
  }
  if (!response.ok) {
    const error = await errorFrom(response)
    if (response.status === 401 && credential === undefined && !path.startsWith('/api/auth/')) {
      for (const listener of unauthorizedListeners) listener()
    }
    throw error
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  return (text === '' ? undefined : JSON.parse(text)) as T
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return 'Something went wrong.'
}
