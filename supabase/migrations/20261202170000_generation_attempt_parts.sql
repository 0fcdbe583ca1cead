-- A conversation is generated turn by turn (one call per turn, so every call fits a low-tier account's
-- output-token limit): each attempt says which part it wrote, the values the Studio fixed locally instead of
-- asking for a repair (sentence counts, ids, clamped scores: before and after), and the quality warnings
-- that did not fail it.
ALTER TABLE generation_attempts
  ADD COLUMN part VARCHAR(30),
  ADD COLUMN normalisations JSONB,
  ADD COLUMN warnings JSONB;
