-- Audit log of privacy operations (erasures, visitor "forget me" requests) and, later,
-- share links and exports. It holds no personal data: no addresses, no visitor ids.
CREATE TABLE IF NOT EXISTS {db}.audit_log {on_cluster}
(
    at        DateTime64(3, 'UTC'),
    action    LowCardinality(String),
    site_id   LowCardinality(String),
    detail    String
)
ENGINE = {replicated}MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (site_id, at);
