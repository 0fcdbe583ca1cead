-- The account's limits per minute, from the anthropic-ratelimit-*-limit headers: with them the shared pacer
-- models the input- and output-token budgets as the buckets the API applies (refilled continuously,
-- max_tokens charged when a call starts) and sizes calls in flight to the request limit.
ALTER TABLE provider_rate_state
  ADD COLUMN requests_limit INTEGER,
  ADD COLUMN input_tokens_limit INTEGER,
  ADD COLUMN output_tokens_limit INTEGER;
