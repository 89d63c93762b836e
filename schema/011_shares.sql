-- Share links: anonymized, read-only access to one site's reports for a third party.
-- The token is never stored: only its SHA-256 (hex), looked up on every request, so a
-- revocation or an expiry takes effect at once on every collector. The password, if
-- any, is an Argon2id hash. noise_secret keys the share's sticky noise (random bytes,
-- hex); it never leaves the server. The newest row of an id wins (read with FINAL).
CREATE TABLE IF NOT EXISTS {db}.shares {on_cluster}
(
    id             String,
    site_id        LowCardinality(String),
    token_hash     String,
    label          String,
    dimensions     Array(String),
    metrics        Array(String),
    date_ranges    Array(Tuple(String, String)),
    granularity    LowCardinality(String),
    noise_epsilon  Nullable(Float64),
    noise_secret   String,
    password_hash  String,
    expires_at     Nullable(DateTime64(3, 'UTC')),
    created_at     DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC'),
    revoked        Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY id;
