-- "Forget me" requests waiting for the next batched erasure (see README, "Forget me").
-- A request is keyed by the hex SHA-256 of its receipt (the receipt itself is never stored)
-- and holds the visitor ids to erase, never the client's address. Once erased, a newer
-- row marks it done with no ids; the request is dropped 30 days after it was made.
CREATE TABLE IF NOT EXISTS {db}.erasure_requests {on_cluster}
(
    receipt_hash  FixedString(64),
    site_id       LowCardinality(String),
    visitor_ids   Array(UInt64),
    status        Enum8('scheduled' = 1, 'done' = 2),
    requested_at  DateTime64(3, 'UTC'),
    done_at       Nullable(DateTime64(3, 'UTC')),
    version       UInt8
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY receipt_hash
TTL toDateTime(requested_at) + INTERVAL 30 DAY;
