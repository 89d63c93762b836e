/** The signed-in user as the collector reports it (`GET /api/auth/state`). */
import { api } from './api.js'

export interface User {
  id: string
  email: string
  role: 'admin' | 'viewer'
  sites: 'all' | string[]
}

export interface AuthState {
  setup_required: boolean
  user: User | null
}

export function fetchAuthState(): Promise<AuthState> {
  return api<AuthState>('GET', '/api/auth/state')
}

export interface Site {
  domain: string
  timezone: string
  retention_months: number
  k: number
  allowed_hostnames: string[]
  count_opted_out: boolean
  created_at: string
}

export async function fetchSites(): Promise<Site[]> {
  const body = await api<{ sites: Site[] }>('GET', '/api/sites')
  return body.sites
}
