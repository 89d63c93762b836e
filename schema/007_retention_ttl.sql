-- Retention TTLs that no accepted retention can turn into an early deletion.
--
-- Each row carries retention_months: its site's retention when it arrived, 1..1200, or
-- 65535 for "keep forever" (a site set to 0 months). The old TTL, timestamp + months
-- as a DateTime, passed the end of DateTime (2106-02-07 06:28:15) for retentions of
-- about 80 years and more, wrapped to a past date, and ClickHouse deleted the rows in
-- the merge that follows the insert.
--
-- Now the month sum is checked first, in whole months and a wide integer: a row whose
-- deletion month would be 2106-01 or later (2106 * 12 + 1 = 25273) expires at the last
-- second DateTime holds, never before. "Forever" rows are left out of the TTL entirely
-- (WHERE); they also evaluate to that last second, so their parts are never picked for
-- a TTL merge. 65535 is the largest UInt16, so it loses to every finite retention
-- under the sessions table's min(retention_months): a visit is kept as briefly as its
-- shortest-lived event.
--
-- MODIFY TTL is idempotent: running it again sets the same expression.
ALTER TABLE {db}.events {on_cluster}
    MODIFY TTL if(toUInt32(toYear(timestamp)) * 12 + toMonth(timestamp) + retention_months < 25273,
                  toDateTime(timestamp) + toIntervalMonth(retention_months),
                  toDateTime(4294967295, 'UTC'))
    DELETE WHERE retention_months != 65535;

ALTER TABLE {db}.sessions {on_cluster}
    MODIFY TTL if(toUInt32(toYear(session_start)) * 12 + toMonth(session_start) + retention_months < 25273,
                  toDateTime(session_start) + toIntervalMonth(retention_months),
                  toDateTime(4294967295, 'UTC'))
    DELETE WHERE retention_months != 65535;
