/** The Deno entry as a child process (see edge-server.ts). */
import { describeEdgeServer } from './edge-server.js'

describeEdgeServer('deno')
