/** For `npx vite --config dashboard/vite.config.ts`: the dashboard with hot reload, /api
 * forwarded to a collector on port 8787. Builds go through build.ts. */
import { defineConfig } from 'vite'
import { dashboardConfig } from './build.js'

export default defineConfig(dashboardConfig())
