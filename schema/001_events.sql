-- Events: one row per accepted beacon (pageview, engagement, custom event).
-- Sorted for the reports' access path: one site, a date range, often one event name.
-- visitor_id in the key makes uniq(visitor_id) cheap and allows SAMPLE BY for big sites.
-- Tokens: {db}, {on_cluster} and {replicated} are filled in by the migration runner, so
-- the same file runs on one node (MergeTree) and on a cluster (ReplicatedMergeTree ON CLUSTER).
CREATE TABLE IF NOT EXISTS {db}.events {on_cluster}
(
    site_id          LowCardinality(String),
    timestamp        DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    name             LowCardinality(String),
    pathname         String CODEC(ZSTD(3)),
    hostname         LowCardinality(String),
    referrer         String CODEC(ZSTD(3)),
    referrer_source  LowCardinality(String),
    channel          LowCardinality(String),
    utm_source       LowCardinality(String),
    utm_medium       LowCardinality(String),
    utm_campaign     String CODEC(ZSTD(3)),
    utm_content      String CODEC(ZSTD(3)),
    utm_term         String CODEC(ZSTD(3)),
    country_code     LowCardinality(FixedString(2)),
    region           LowCardinality(String),
    city             LowCardinality(String),
    browser          LowCardinality(String),
    browser_version  LowCardinality(String),
    os               LowCardinality(String),
    os_version       LowCardinality(String),
    device           LowCardinality(String),
    visitor_id       UInt64,
    session_id       UInt64 CODEC(ZSTD(1)),
    session_start    DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    interactive      Bool DEFAULT true,
    engaged_ms       UInt32 CODEC(T64, ZSTD(1)),
    scroll_depth     UInt8,
    props            Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    -- The site's retention when the event arrived; the TTL deletes the row after it.
    retention_months UInt16 DEFAULT 25
)
ENGINE = {replicated}MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site_id, toDate(timestamp), name, visitor_id, timestamp)
SAMPLE BY visitor_id
TTL toDateTime(timestamp) + toIntervalMonth(retention_months) DELETE
-- Parts replaced by an erasure leave the disk within a minute, not eight.
SETTINGS index_granularity = 8192, old_parts_lifetime = 20, cleanup_delay_period = 3,
         max_cleanup_delay_period = 10;
