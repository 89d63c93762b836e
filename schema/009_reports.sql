-- Reports: the visit table gains the visit dimensions it lacked (browser and OS
-- versions, the last two UTM tags), so every visit dimension can be answered from it.
-- The materialized view is replaced to fill them; visits stored before this migration
-- read them as empty.
ALTER TABLE {db}.sessions {on_cluster} ADD COLUMN IF NOT EXISTS browser_version SimpleAggregateFunction(any, LowCardinality(String));
ALTER TABLE {db}.sessions {on_cluster} ADD COLUMN IF NOT EXISTS os_version SimpleAggregateFunction(any, LowCardinality(String));
ALTER TABLE {db}.sessions {on_cluster} ADD COLUMN IF NOT EXISTS utm_content AggregateFunction(argMin, String, DateTime64(3, 'UTC'));
ALTER TABLE {db}.sessions {on_cluster} ADD COLUMN IF NOT EXISTS utm_term AggregateFunction(argMin, String, DateTime64(3, 'UTC'));

DROP VIEW IF EXISTS {db}.sessions_mv {on_cluster};

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
    argMinState(utm_content, timestamp)                        AS utm_content,
    argMinState(utm_term, timestamp)                           AS utm_term,
    any(country_code)                                          AS country_code,
    any(region)                                                AS region,
    any(city)                                                  AS city,
    any(browser)                                               AS browser,
    any(browser_version)                                       AS browser_version,
    any(os)                                                    AS os,
    any(os_version)                                            AS os_version,
    any(device)                                                AS device,
    min(retention_months)                                      AS retention_months
FROM {db}.events
WHERE session_id != 0
GROUP BY site_id, session_id, session_start;

-- Goals: page goals (a path pattern) and custom-event goals, per site. The newest row
-- of an id wins; deleted goals keep a row marked deleted.
CREATE TABLE IF NOT EXISTS {db}.goals {on_cluster}
(
    site_id     LowCardinality(String),
    id          String,
    type        LowCardinality(String),
    value       String,
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    deleted     Bool DEFAULT false
)
ENGINE = {replicated}ReplacingMergeTree(updated_at)
ORDER BY (site_id, id);
