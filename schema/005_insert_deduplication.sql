-- The shipper inserts each spool batch with an insert_deduplication_token, so a batch
-- sent again after a crash or a timed-out insert is stored once. Replicated tables
-- deduplicate by default; on a single node MergeTree needs a window of remembered blocks.
-- The sessions table gets the same window, as its materialized view forwards the token.
ALTER TABLE {db}.events {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {db}.sessions {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
