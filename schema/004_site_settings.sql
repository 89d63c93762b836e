-- Per-site setting: visitors who send Do Not Track or Global Privacy Control are not
-- recorded (false, the default), or recorded without a visitor id or session (true).
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS count_opted_out Bool DEFAULT false;

-- Months the site's events are kept (ClickHouse TTL on events and sessions).
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS retention_months UInt16 DEFAULT 25;

-- Hostnames a site's events may come from (a listed name or any subdomain of one).
-- Empty: any hostname.
ALTER TABLE {db}.sites {on_cluster} ADD COLUMN IF NOT EXISTS allowed_hostnames Array(String) DEFAULT [];
