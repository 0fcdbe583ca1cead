-- Seed import runs: every `tds import` / upload is recorded with its options and a per-file report, and every
-- conversation it wrote is an item holding what is needed to undo it (see docs/decisions-imports.md).

CREATE TABLE import_runs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  started_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  finished_at TIMESTAMPTZ,
  created_by TEXT,
  -- {repair, replace, dry_run, source}
  options JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- One entry per file: {path, status, conversations, turns, sentences, duplicates, warnings[], errors[]}.
  files JSONB NOT NULL DEFAULT '[]'::jsonb,
  conversation_count INTEGER NOT NULL DEFAULT 0,
  turn_count INTEGER NOT NULL DEFAULT 0,
  sentence_count INTEGER NOT NULL DEFAULT 0,
  duplicate_count INTEGER NOT NULL DEFAULT 0,
  warning_count INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  -- 'running' exists only inside the importing transaction; a committed run has one of the other values.
  status VARCHAR(30) NOT NULL DEFAULT 'running',
  rolled_back_at TIMESTAMPTZ,
  rolled_back_by TEXT,
  CONSTRAINT import_runs_valid_status CHECK (
    status IN ('running', 'completed', 'completed_with_errors', 'failed', 'rolled_back')
  ),
  CONSTRAINT import_runs_counts_not_negative CHECK (
    conversation_count >= 0 AND turn_count >= 0 AND sentence_count >= 0
    AND duplicate_count >= 0 AND warning_count >= 0 AND error_count >= 0
  )
);
CREATE INDEX idx_import_runs_started_at ON import_runs (started_at DESC);

CREATE TABLE import_run_items (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id UUID NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
  conversation_row_id UUID REFERENCES training_conversations (id) ON DELETE SET NULL,
  conversation_id VARCHAR(100) NOT NULL,
  action VARCHAR(20) NOT NULL,
  source_file TEXT,
  -- The conversation row's columns before the run changed it (filled_plan, replaced); NULL for inserted.
  previous_row JSONB,
  -- replaced only: the replaced conversation's single-file export and its quality_metrics row.
  previous_export JSONB,
  previous_metrics JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT import_run_items_valid_action CHECK (action IN ('filled_plan', 'inserted', 'replaced')),
  CONSTRAINT import_run_items_run_conversation_key UNIQUE (run_id, conversation_id)
);
CREATE INDEX idx_import_run_items_conversation_id ON import_run_items (conversation_id);
CREATE INDEX idx_import_run_items_row ON import_run_items (conversation_row_id);

ALTER TABLE training_conversations
  ADD COLUMN import_run_id UUID REFERENCES import_runs (id) ON DELETE SET NULL;
CREATE INDEX idx_conversations_import_run ON training_conversations (import_run_id);

-- Real difficulty labels are longer than 50 characters (up to 86 in our samples, 56 upstream); like the other
-- free-text annotation columns it becomes TEXT so nothing is cut.
ALTER TABLE training_turns ALTER COLUMN difficulty_level TYPE TEXT;

-- Every turn keeps its full source JSON (~7 kB, TOASTed): lz4 compresses it several times faster than the
-- default pglz, which `tds bench import` measured as ~15-20% of the import's database time. Servers built
-- without lz4 keep pglz.
DO $$
BEGIN
  ALTER TABLE training_turns ALTER COLUMN source_json SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server: training_turns.source_json keeps pglz';
END
$$;

-- Row-level security as for the dataset tables: every signed-in user reads all runs; a run is recorded in the
-- name of the user who starts it; finishing and rolling back update it (rollback is a shared-dataset action,
-- like editing a conversation, so any signed-in user may do it).
GRANT SELECT, INSERT, UPDATE ON import_runs TO authenticated;
GRANT SELECT, INSERT ON import_run_items TO authenticated;

ALTER TABLE import_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_run_items ENABLE ROW LEVEL SECURITY;

CREATE POLICY import_runs_read ON import_runs FOR SELECT TO authenticated USING (true);
CREATE POLICY import_runs_insert ON import_runs FOR INSERT TO authenticated
  WITH CHECK (created_by = (auth.uid())::text);
CREATE POLICY import_runs_update ON import_runs FOR UPDATE TO authenticated USING (true) WITH CHECK (true);

CREATE POLICY import_run_items_read ON import_run_items FOR SELECT TO authenticated USING (true);
CREATE POLICY import_run_items_insert ON import_run_items FOR INSERT TO authenticated
  WITH CHECK (EXISTS (SELECT 1 FROM import_runs r WHERE r.id = run_id AND r.status = 'running'));
