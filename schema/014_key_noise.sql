-- Optional noise per API key scoped `anonymized` (see README, "What the anonymizer
-- does"): the key's ε (NULL: no noise) and the secret that makes its noise sticky per
-- cell. A key's noise is fixed when it is made.
ALTER TABLE {db}.api_keys {on_cluster} ADD COLUMN IF NOT EXISTS noise_epsilon Nullable(Float64);
ALTER TABLE {db}.api_keys {on_cluster} ADD COLUMN IF NOT EXISTS noise_secret String DEFAULT '';
