/**
 * Modules the edge bundler (scripts/edge-bundle.ts) makes at build time, so the edge
 * entries carry what the Node collector reads from disk at start.
 */

/** The schema/ migrations, in order. */
declare module 'glimpse:migrations' {
  const migrations: readonly { version: number; name: string; sql: string }[]
  export default migrations
}

/** The built tracker scripts by file name (script.js, script.full.js). */
declare module 'glimpse:tracker' {
  const scripts: readonly (readonly [string, { body: string; etag: string }])[]
  export default scripts
}
