-- Row-level security as in the requirements, applied to the API roles Supabase uses.
-- `authenticated` may read everything and write the dataset; a generation job can be changed only by the
-- user who created it. `anon` gets no grant and no policy: it can read or write nothing.
-- The table owner (the role that runs migrations, the CLI and the workers) is not subject to these policies.

GRANT USAGE ON SCHEMA public TO authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON
  training_conversations, training_turns, emotional_context, response_strategies,
  response_breakdowns, quality_metrics
TO authenticated;
GRANT SELECT, INSERT, UPDATE ON conversation_templates, generation_jobs TO authenticated;

ALTER TABLE training_conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE emotional_context ENABLE ROW LEVEL SECURITY;
ALTER TABLE response_strategies ENABLE ROW LEVEL SECURITY;
ALTER TABLE response_breakdowns ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE generation_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality_metrics ENABLE ROW LEVEL SECURITY;

-- The annotated dataset: every signed-in user works on the same shared dataset.
CREATE POLICY conversations_read ON training_conversations FOR SELECT TO authenticated USING (true);
CREATE POLICY conversations_insert ON training_conversations FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY conversations_update ON training_conversations FOR UPDATE TO authenticated USING (true) WITH CHECK (true);
CREATE POLICY conversations_delete ON training_conversations FOR DELETE TO authenticated USING (true);

CREATE POLICY turns_read ON training_turns FOR SELECT TO authenticated USING (true);
CREATE POLICY turns_insert ON training_turns FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY turns_update ON training_turns FOR UPDATE TO authenticated USING (true) WITH CHECK (true);
CREATE POLICY turns_delete ON training_turns FOR DELETE TO authenticated USING (true);

CREATE POLICY emotional_context_read ON emotional_context FOR SELECT TO authenticated USING (true);
CREATE POLICY emotional_context_insert ON emotional_context FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY emotional_context_delete ON emotional_context FOR DELETE TO authenticated USING (true);

CREATE POLICY response_strategies_read ON response_strategies FOR SELECT TO authenticated USING (true);
CREATE POLICY response_strategies_insert ON response_strategies FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY response_strategies_delete ON response_strategies FOR DELETE TO authenticated USING (true);

CREATE POLICY response_breakdowns_read ON response_breakdowns FOR SELECT TO authenticated USING (true);
CREATE POLICY response_breakdowns_insert ON response_breakdowns FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY response_breakdowns_delete ON response_breakdowns FOR DELETE TO authenticated USING (true);

CREATE POLICY quality_metrics_read ON quality_metrics FOR SELECT TO authenticated USING (true);
CREATE POLICY quality_metrics_insert ON quality_metrics FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY quality_metrics_update ON quality_metrics FOR UPDATE TO authenticated USING (true) WITH CHECK (true);
CREATE POLICY quality_metrics_delete ON quality_metrics FOR DELETE TO authenticated USING (true);

-- Templates: readable by all; edited through the template manager (versioned there).
CREATE POLICY templates_read ON conversation_templates FOR SELECT TO authenticated USING (true);
CREATE POLICY templates_insert ON conversation_templates FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY templates_update ON conversation_templates FOR UPDATE TO authenticated USING (true) WITH CHECK (true);

-- Jobs: anyone signed in sees every job; only its creator may change it, and a new job is one's own.
CREATE POLICY jobs_read ON generation_jobs FOR SELECT TO authenticated USING (true);
CREATE POLICY jobs_insert ON generation_jobs FOR INSERT TO authenticated
  WITH CHECK (created_by = (auth.uid())::text);
CREATE POLICY jobs_update_own ON generation_jobs FOR UPDATE TO authenticated
  USING (created_by = (auth.uid())::text) WITH CHECK (created_by = (auth.uid())::text);
