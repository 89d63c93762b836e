-- Salts are inserted with a deduplication token named after their day, so collectors or
-- edge isolates that create the same day's salt at once store it once. Replicated tables
-- deduplicate by default; a single node needs a window of remembered blocks.
ALTER TABLE {db}.salts {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 100;
