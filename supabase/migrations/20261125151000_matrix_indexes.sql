-- The Matrix's summary (total, seed, generated, by tier, by persona) in constant time at any table size.
--
-- Measured with `tds bench db` at 100,000 conversations: the page query takes ~2 ms and the filtered count
-- ~15 ms, but aggregating the whole table for the summary took 50-70 ms (a hash aggregate over every row;
-- ~20 ms even as an index-only scan), over the 50 ms p95 budget on its own. So the counts are kept, per
-- (tier, persona, status, seed) group, in a small table that statement-level triggers update in the same
-- transaction as the change: reading the summary sums at most a few hundred rows, and it is never stale.
-- The price: two transactions that move counts of the same group serialise on that count row until the
-- first commits (milliseconds for a review or a generation step; a long import holds its groups until it
-- commits). Each statement locks its groups in key order; a deadlock needs two multi-statement writers
-- touching the same groups in opposite orders, which PostgreSQL detects and aborts one of.

CREATE TABLE conversation_counts (
  tier VARCHAR(20) NOT NULL,
  persona_type VARCHAR(50) NOT NULL,
  generation_status VARCHAR(20) NOT NULL,
  is_seed_example BOOLEAN NOT NULL,
  conversations BIGINT NOT NULL,
  CONSTRAINT conversation_counts_pkey PRIMARY KEY (tier, persona_type, generation_status, is_seed_example)
);

-- One function for the four triggers. It runs as its owner so that a signed-in user (RLS role
-- `authenticated`, which may only read conversation_counts) still keeps the counts right when writing
-- conversations. Each branch reads only the transition tables its trigger defines; groups are upserted in a
-- fixed order, so concurrent writers lock the same count rows in the same order.
CREATE FUNCTION conversation_counts_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM conversation_counts;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO conversation_counts AS c (tier, persona_type, generation_status, is_seed_example, conversations)
      SELECT tier, persona_type, generation_status, is_seed_example, count(*)
      FROM new_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT conversation_counts_pkey
      DO UPDATE SET conversations = c.conversations + EXCLUDED.conversations;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO conversation_counts AS c (tier, persona_type, generation_status, is_seed_example, conversations)
      SELECT tier, persona_type, generation_status, is_seed_example, -count(*)
      FROM old_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT conversation_counts_pkey
      DO UPDATE SET conversations = c.conversations + EXCLUDED.conversations;
  ELSE  -- UPDATE: only rows whose group changed move a count; other updates write nothing here
    INSERT INTO conversation_counts AS c (tier, persona_type, generation_status, is_seed_example, conversations)
      SELECT tier, persona_type, generation_status, is_seed_example, sum(delta)
      FROM (
        SELECT tier, persona_type, generation_status, is_seed_example, 1 AS delta FROM new_rows
        UNION ALL
        SELECT tier, persona_type, generation_status, is_seed_example, -1 AS delta FROM old_rows
      ) AS changes
      GROUP BY 1, 2, 3, 4 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT conversation_counts_pkey
      DO UPDATE SET conversations = c.conversations + EXCLUDED.conversations;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER conversation_counts_insert AFTER INSERT ON training_conversations
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_apply();
CREATE TRIGGER conversation_counts_update AFTER UPDATE ON training_conversations
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_apply();
CREATE TRIGGER conversation_counts_delete AFTER DELETE ON training_conversations
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_apply();
CREATE TRIGGER conversation_counts_truncate AFTER TRUNCATE ON training_conversations
  FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_apply();

-- The rows that exist already (the migration runs in one transaction, before the app serves).
INSERT INTO conversation_counts (tier, persona_type, generation_status, is_seed_example, conversations)
  SELECT tier, persona_type, generation_status, is_seed_example, count(*)
  FROM training_conversations GROUP BY 1, 2, 3, 4;

-- Signed-in users read the summary; only the trigger function writes it.
GRANT SELECT ON conversation_counts TO authenticated;
ALTER TABLE conversation_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY conversation_counts_read ON conversation_counts FOR SELECT TO authenticated USING (true);
REVOKE ALL ON FUNCTION conversation_counts_apply() FROM PUBLIC;
