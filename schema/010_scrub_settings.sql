-- Per-site scrubbing (see README, "Personal data in events"): the kinds a site has turned
-- off (empty, the default: every kind is scrubbed; a kind added later is on for every
-- site), and prop keys dropped whole (lower-case). The client's own address is always
-- scrubbed and has no setting.
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS scrub_disabled Array(String) DEFAULT [];
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS drop_props Array(String) DEFAULT [];
