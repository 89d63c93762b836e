-- Retention TTLs that no accepted retention can turn into an early deletion.
--
-- Each row carries retention_months: its site's retention when it arrived, 1..1200, or
-- 65535 for "keep forever" (a site set to 0 months). The old TTL, timestamp + months
-- as a DateTime, passed the end of DateTime (2106-02-07 06:28:15) for retentions of
-- about 80 years and more, wrapped to a past date, and ClickHouse deleted the rows in
-- the merge that follows the insert.
--
-- Now the date is computed in DateTime64 (up to 2299-12-31), exact for every accepted
-- retention of an event stamped before 2200. The month sum is checked first, in whole
-- months and a wide integer: a deletion month past 2299-12 (2300 * 12 + 1 = 27601)
-- becomes the last moment DateTime64 holds, never a wrapped one. "Forever" rows are
-- left out of the TTL (WHERE); they also evaluate to that last moment, so their parts
-- are never picked for a TTL merge. 65535 is the largest UInt16, so it loses to every
-- finite retention under the sessions table's min(retention_months).
--
-- MODIFY TTL is idempotent: running it again sets the same expression.
ALTER TABLE {db}.events {on_cluster}
    MODIFY TTL if(toUInt32(toYear(timestamp)) * 12 + toMonth(timestamp) + retention_months < 27601,
                  addMonths(timestamp, retention_months),
                  toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))
    DELETE WHERE retention_months != 65535;

ALTER TABLE {db}.sessions {on_cluster}
    MODIFY TTL if(toUInt32(toYear(session_start)) * 12 + toMonth(session_start) + retention_months < 27601,
                  addMonths(session_start, retention_months),
                  toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))
    DELETE WHERE retention_months != 65535;
