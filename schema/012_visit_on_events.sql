-- Each event carries its visit, so the reports read visits from the events alone: no
-- fold of the sessions table by session_id, no join of events with their visits.
--
-- Written by the ingest session step (collector/src/ingest/session.ts):
--   entry_page, visit_*    the visit's entry: the page and source (referrer, source,
--                          channel, UTM tags) of its first event, the same on every
--                          event of the visit;
--   visit_starts           1 on the event that started the visit, else 0;
--   visit_bounces          the change the event made to whether its visit is a bounce
--                          (+1, -1 or 0): summed over a visit, 1 for a bounce, 0 if not;
--   visit_duration_ms      how much later the event made the visit's last event: summed
--                          over a visit, its last event's time minus its first's;
--   visit_version          1 on rows that carry all this; 0 (the default) on rows written
--                          before this migration, which the reports answer from the
--                          sessions table as before.
-- An event without a visit (a site counting opted-out visitors) has an empty
-- visit_channel; every visit has a channel ('Direct' at least).
--
-- minute and start_minute (minutes since 1970, UTC) hold timestamp and session_start
-- in 4 bytes that compress to about 1.5 (T64): the reports filter periods on them
-- instead of decompressing the 8-byte times of every row in the period. page is the
-- pathname again as LowCardinality: a site's paths repeat, and the reports compare and
-- group on its dictionary (a third of the time of the ZSTD-compressed pathname).
--
-- Adding columns rewrites nothing: older parts read the defaults (and compute the
-- minutes and the page from the row when read).
ALTER TABLE {db}.events {on_cluster}
    ADD COLUMN IF NOT EXISTS entry_page LowCardinality(String),
    ADD COLUMN IF NOT EXISTS visit_referrer String,
    ADD COLUMN IF NOT EXISTS visit_source LowCardinality(String),
    ADD COLUMN IF NOT EXISTS visit_channel LowCardinality(String),
    ADD COLUMN IF NOT EXISTS visit_utm_source LowCardinality(String),
    ADD COLUMN IF NOT EXISTS visit_utm_medium LowCardinality(String),
    ADD COLUMN IF NOT EXISTS visit_utm_campaign String,
    ADD COLUMN IF NOT EXISTS visit_utm_content String,
    ADD COLUMN IF NOT EXISTS visit_utm_term String,
    ADD COLUMN IF NOT EXISTS visit_starts UInt8,
    ADD COLUMN IF NOT EXISTS visit_bounces Int8,
    ADD COLUMN IF NOT EXISTS visit_duration_ms UInt32,
    ADD COLUMN IF NOT EXISTS visit_version UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS minute UInt32
        MATERIALIZED toUInt32(intDiv(toUnixTimestamp64Milli(timestamp), 60000)) CODEC(T64, LZ4),
    ADD COLUMN IF NOT EXISTS start_minute UInt32
        MATERIALIZED toUInt32(intDiv(toUnixTimestamp64Milli(session_start), 60000)) CODEC(T64, LZ4),
    ADD COLUMN IF NOT EXISTS page LowCardinality(String) MATERIALIZED pathname;

-- Finds the rows written before this migration without reading the newer ones.
ALTER TABLE {db}.events {on_cluster}
    ADD INDEX IF NOT EXISTS visit_version_minmax visit_version TYPE minmax GRANULARITY 1;

-- Daily figures (see collector/src/reports/rollup.ts): for each site, UTC day and
-- dimension value, what the reports would count from that day's events, so a period
-- of many days reads one row per day and value instead of every event. Visitor ids
-- change every UTC day, so distinct visitors of several days are the sum of each day's.
--   visitors, pageviews, events  the day's events (not engagement beacons) with the
--                                value; visitors exact (distinct ids);
--   visits, bounces, duration_ms, visit_pageviews
--                                the visits that started that day, from their events up
--                                to the end of the next day (the day is summed once both
--                                are over);
--   source                       a signature of the day's and the next day's events when
--                                summed (their number plus the sum of their session ids):
--                                a day whose events changed since (a late batch, an
--                                erasure) is summed again.
-- The newest version of a row wins (read with FINAL); a value gone from a day is written
-- again with zeros. The TTL follows migration 007's rule.
CREATE TABLE IF NOT EXISTS {db}.daily_stats {on_cluster}
(
    site_id          LowCardinality(String),
    day              Date,
    dimension        LowCardinality(String),
    value            String,
    visitors         UInt64,
    pageviews        UInt64,
    events           UInt64,
    visits           UInt64,
    bounces          Int64,
    duration_ms      UInt64,
    visit_pageviews  UInt64,
    source           UInt64,
    version          UInt64,
    retention_months UInt16 DEFAULT 25
)
ENGINE = {replicated}ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, dimension, value)
TTL if(toUInt32(toYear(day)) * 12 + toMonth(day) + retention_months < 27601,
       addMonths(toDateTime64(day, 3, 'UTC'), retention_months),
       toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))
    DELETE WHERE retention_months != 65535
SETTINGS old_parts_lifetime = 20, cleanup_delay_period = 3, max_cleanup_delay_period = 10;
