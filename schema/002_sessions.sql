-- Sessions (visits), kept up to date by a materialized view over every insert into events.
-- Each insert block contributes a partial row per session; background merges, and
-- GROUP BY session_id with the -Merge combinators at query time, fold them into one.
-- Every event of a session carries the same session_start, so the sorting key of a
-- session never changes while it grows.
--
-- Definitions (see README, "Sessions"):
--   visit          = one row here: events of one visitor with no gap over 30 minutes
--   pageviews      = its 'pageview' events;  views per visit = sum(pageviews) / visits
--   bounce         = a visit with at most one pageview and no interactive custom event
--   visit duration = session_end - session_start (engagement beacons sent when the
--                    page is left move session_end to the moment of leaving)
--   entry / exit   = pathname of the first / last pageview of the visit
CREATE TABLE IF NOT EXISTS {db}.sessions {on_cluster}
(
    site_id          LowCardinality(String),
    session_id       UInt64,
    session_start    DateTime64(3, 'UTC'),
    visitor_id       SimpleAggregateFunction(any, UInt64),
    session_end      SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    pageviews        SimpleAggregateFunction(sum, UInt64),
    events           SimpleAggregateFunction(sum, UInt64),
    interactions     SimpleAggregateFunction(sum, UInt64),
    engaged_ms       SimpleAggregateFunction(sum, UInt64),
    entry_page       AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    exit_page        AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    hostname         AggregateFunction(argMin, LowCardinality(String), DateTime64(3, 'UTC')),
    referrer         AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    referrer_source  AggregateFunction(argMin, LowCardinality(String), DateTime64(3, 'UTC')),
    channel          AggregateFunction(argMin, LowCardinality(String), DateTime64(3, 'UTC')),
    utm_source       AggregateFunction(argMin, LowCardinality(String), DateTime64(3, 'UTC')),
    utm_medium       AggregateFunction(argMin, LowCardinality(String), DateTime64(3, 'UTC')),
    utm_campaign     AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    country_code     SimpleAggregateFunction(any, LowCardinality(FixedString(2))),
    region           SimpleAggregateFunction(any, LowCardinality(String)),
    city             SimpleAggregateFunction(any, LowCardinality(String)),
    browser          SimpleAggregateFunction(any, LowCardinality(String)),
    os               SimpleAggregateFunction(any, LowCardinality(String)),
    device           SimpleAggregateFunction(any, LowCardinality(String)),
    retention_months SimpleAggregateFunction(min, UInt16)
)
ENGINE = {replicated}AggregatingMergeTree
PARTITION BY toYYYYMM(session_start)
ORDER BY (site_id, toDate(session_start), session_id)
TTL toDateTime(session_start) + toIntervalMonth(retention_months) DELETE
SETTINGS old_parts_lifetime = 20, cleanup_delay_period = 3,
         max_cleanup_delay_period = 10;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_mv {on_cluster} TO {db}.sessions AS
SELECT
    site_id,
    session_id,
    session_start,
    any(visitor_id)                                            AS visitor_id,
    max(timestamp)                                             AS session_end,
    countIf(name = 'pageview')                                 AS pageviews,
    countIf(name NOT IN ('pageview', 'engagement'))            AS events,
    countIf(interactive AND name NOT IN ('pageview', 'engagement')) AS interactions,
    sum(engaged_ms)                                            AS engaged_ms,
    argMinStateIf(pathname, timestamp, name = 'pageview')      AS entry_page,
    argMaxStateIf(pathname, timestamp, name = 'pageview')      AS exit_page,
    argMinState(hostname, timestamp)                           AS hostname,
    argMinState(referrer, timestamp)                           AS referrer,
    argMinState(referrer_source, timestamp)                    AS referrer_source,
    argMinState(channel, timestamp)                            AS channel,
    argMinState(utm_source, timestamp)                         AS utm_source,
    argMinState(utm_medium, timestamp)                         AS utm_medium,
    argMinState(utm_campaign, timestamp)                       AS utm_campaign,
    any(country_code)                                          AS country_code,
    any(region)                                                AS region,
    any(city)                                                  AS city,
    any(browser)                                               AS browser,
    any(os)                                                    AS os,
    any(device)                                                AS device,
    min(retention_months)                                      AS retention_months
FROM {db}.events
WHERE session_id != 0
GROUP BY site_id, session_id, session_start;
