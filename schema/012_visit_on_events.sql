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
-- instead of decompressing the 8-byte times of every row in the period.
--
-- Adding columns rewrites nothing: older parts read the defaults (and compute the
-- minutes from the times when read).
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
        MATERIALIZED toUInt32(intDiv(toUnixTimestamp64Milli(session_start), 60000)) CODEC(T64, LZ4);

-- Finds the rows written before this migration without reading the newer ones.
ALTER TABLE {db}.events {on_cluster}
    ADD INDEX IF NOT EXISTS visit_version_minmax visit_version TYPE minmax GRANULARITY 1;
