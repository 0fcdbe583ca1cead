-- Regenerating a generated conversation. The job item says it replaces an existing version and remembers the
-- status that version had, so a failed, paused or cancelled regeneration gives the conversation back exactly as
-- it was. The replaced version is kept whole (its export document, its row and its quality metrics) before the
-- new one is written, in the same transaction: regenerating never loses anything.

ALTER TABLE generation_job_items
  ADD COLUMN regenerate BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN previous_status VARCHAR(20);

CREATE TABLE conversation_revisions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  -- 1 for the first version replaced, then 2, ...: the order in which versions were superseded.
  revision_number INTEGER NOT NULL,
  reason VARCHAR(30) NOT NULL DEFAULT 'regenerated',
  -- The single-conversation layout, as GET /api/train-data/conversations/{id}/export returned it.
  document JSONB NOT NULL,
  -- Every column of the conversation row and of its quality_metrics row as they were.
  conversation_row JSONB NOT NULL,
  quality_metrics JSONB,
  generation_status VARCHAR(20) NOT NULL,
  quality_score NUMERIC(2, 1),
  replaced_by_job_id UUID REFERENCES generation_jobs (id) ON DELETE SET NULL,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT conversation_revisions_number_key UNIQUE (conversation_id, revision_number),
  CONSTRAINT conversation_revisions_valid_reason CHECK (reason IN ('regenerated')),
  CONSTRAINT conversation_revisions_document_object CHECK (jsonb_typeof(document) = 'object')
);

-- The audit trail records the status change a regeneration makes (e.g. approved -> generated).
ALTER TABLE conversation_reviews DROP CONSTRAINT conversation_reviews_valid_source;
ALTER TABLE conversation_reviews ADD CONSTRAINT conversation_reviews_valid_source
  CHECK (source IN ('review', 'bulk_approve', 'bulk_flag', 'regenerate'));

-- As for the other history tables: everyone signed in reads; rows are written by the worker (table owner) and
-- never updated or deleted.
ALTER TABLE conversation_revisions ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON conversation_revisions TO authenticated;
CREATE POLICY conversation_revisions_read ON conversation_revisions FOR SELECT TO authenticated USING (true);
