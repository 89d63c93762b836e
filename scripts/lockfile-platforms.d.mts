/** Names of the chDB platform packages chdb asks for that the lock file lacks. */
export function missingPlatforms(lock: unknown): string[]
