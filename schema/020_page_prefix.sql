-- Page coarsening for third parties (see README, "What the anonymizer does"): a share
-- link or an API key scoped `anonymized` may name a page prefix depth N (1 to 5); every
-- page path it sees is then cut to its first N segments (`/blog/post-a` → `/blog/*`)
-- before the k rule is applied. NULL: whole paths.
ALTER TABLE {db}.shares {on_cluster} ADD COLUMN IF NOT EXISTS page_prefix_depth Nullable(UInt8);
ALTER TABLE {db}.api_keys {on_cluster} ADD COLUMN IF NOT EXISTS page_prefix_depth Nullable(UInt8);
