-- Daily visitor-id salts, shared by every collector through the store. Random bytes,
-- made a day ahead, deleted (by a mutation, so physically) once 48 hours have passed
-- since the start of their day. The TTL is a second guard if no collector runs.
-- Parts replaced by the delete are removed from disk within seconds (old_parts_lifetime,
-- cleanup_delay_period, max_cleanup_delay_period) instead of minutes later.
CREATE TABLE IF NOT EXISTS {db}.salts {on_cluster}
(
    day         Date,
    salt        String,
    created_at  DateTime64(3, 'UTC')
)
ENGINE = {replicated}MergeTree
ORDER BY day
TTL toDateTime(day) + INTERVAL 48 HOUR DELETE
SETTINGS old_parts_lifetime = 1, cleanup_delay_period = 1, max_cleanup_delay_period = 1,
         cleanup_delay_period_random_add = 0,
         merge_with_ttl_timeout = 3600;

-- Registered sites. ReplacingMergeTree: the newest row of a domain wins.
CREATE TABLE IF NOT EXISTS {db}.sites {on_cluster}
(
    domain      String,
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    deleted     Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY domain;
