-- Segments: a site's saved sets of Stats API filters, used in a query as
-- ["is", "segment", [id]] (collector/src/reports/segments.ts). The newest row of an id
-- wins; a deleted segment keeps a row marked deleted.
CREATE TABLE IF NOT EXISTS {db}.segments {on_cluster}
(
    site_id     LowCardinality(String),
    id          UInt32,
    name        String,
    filters     String,
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    deleted     Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY (site_id, id);
