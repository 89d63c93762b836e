-- Accounts and access: dashboard users, their login sessions, and API keys. Small
-- ReplacingMergeTree tables (the newest version of a row wins), read with FINAL through
-- a cache of a few seconds in each collector. Secrets are stored only as hashes:
-- Argon2id for passwords, SHA-256 for the random session ids and API keys.

-- Per-site settings read by the reports: the site's time zone (an IANA name) and k, the
-- smallest number of distinct visitors a figure shown to third parties may stand for.
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS timezone String DEFAULT 'UTC';
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS k UInt8 DEFAULT 5;

-- Users: admin (everything) or viewer (reads the sites listed, or all when all_sites).
CREATE TABLE IF NOT EXISTS {db}.users {on_cluster}
(
    id             String,
    email          String,
    password_hash  String,
    role           LowCardinality(String),
    all_sites      Bool DEFAULT false,
    sites          Array(String) DEFAULT [],
    created_at     DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC'),
    deleted        Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY id;

-- Login sessions of the dashboard, by the SHA-256 of the cookie's random id. A session
-- is written twice at most: when made, and when ended (deleted). Expired rows go by TTL.
CREATE TABLE IF NOT EXISTS {db}.login_sessions {on_cluster}
(
    id_hash     String,
    user_id     String,
    created_at  DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    deleted     Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY id_hash
TTL toDateTime(expires_at) + INTERVAL 1 DAY DELETE;

-- API keys for the Stats API, by the SHA-256 of the key. Scoped to sites (or all) and to
-- full or anonymized figures. Revoking writes a new version with revoked = true.
CREATE TABLE IF NOT EXISTS {db}.api_keys {on_cluster}
(
    id          String,
    key_hash    String,
    name        String,
    all_sites   Bool DEFAULT false,
    sites       Array(String) DEFAULT [],
    scope       LowCardinality(String),
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    revoked     Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY id;

-- When each key was last used, kept apart from api_keys so that a collector flushing
-- its usage figures never writes over a revocation made by another: the latest time wins.
CREATE TABLE IF NOT EXISTS {db}.api_key_usage {on_cluster}
(
    key_id        String,
    last_used_at  DateTime64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(last_used_at)
ORDER BY key_id;
