-- Quality review: the audit trail of every status change, and LLM judgements against a versioned rubric.

-- One row per status change, written in the same transaction as the change (conversations/service.py
-- change_status), for single decisions and bulk actions alike. Append-only: nobody updates or deletes
-- history (rows go only with their conversation).
CREATE TABLE conversation_reviews (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  from_status VARCHAR(20) NOT NULL,
  to_status VARCHAR(20) NOT NULL,
  notes TEXT,
  reviewer TEXT NOT NULL,
  -- 'review' (one decision), 'bulk_approve' or 'bulk_flag' (a dashboard bulk action).
  source VARCHAR(30) NOT NULL DEFAULT 'review',
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT conversation_reviews_valid_statuses CHECK (
    from_status IN ('planned', 'in_progress', 'generated', 'reviewed', 'approved', 'flagged', 'failed')
    AND to_status IN ('planned', 'in_progress', 'generated', 'reviewed', 'approved', 'flagged', 'failed')
  ),
  CONSTRAINT conversation_reviews_valid_source CHECK (source IN ('review', 'bulk_approve', 'bulk_flag'))
);
CREATE INDEX idx_conversation_reviews_conversation ON conversation_reviews (conversation_id, created_at DESC);
CREATE INDEX idx_conversation_reviews_created_at ON conversation_reviews (created_at DESC);

-- An LLM's 1-5 scores of one conversation with a one-line reason each; a conversation may be judged again
-- (another model, a newer rubric), so rows accumulate and readers take the latest.
CREATE TABLE quality_judgements (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  model VARCHAR(100) NOT NULL,
  rubric_version VARCHAR(40) NOT NULL,
  empathy_score SMALLINT NOT NULL,
  clarity_score SMALLINT NOT NULL,
  appropriateness_score SMALLINT NOT NULL,
  brand_voice_score SMALLINT NOT NULL,
  -- {"empathy": "...", "clarity": "...", "appropriateness": "...", "brand_voice": "..."}
  reasons JSONB NOT NULL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  created_by TEXT,
  CONSTRAINT quality_judgements_valid_scores CHECK (
    empathy_score BETWEEN 1 AND 5 AND clarity_score BETWEEN 1 AND 5
    AND appropriateness_score BETWEEN 1 AND 5 AND brand_voice_score BETWEEN 1 AND 5
  ),
  CONSTRAINT quality_judgements_reasons_object CHECK (jsonb_typeof(reasons) = 'object')
);
CREATE INDEX idx_quality_judgements_conversation ON quality_judgements (conversation_id, created_at DESC);

-- Row-level security as for the other tables: every signed-in user reads everything; a review is recorded
-- in the name of the user who makes it, a judgement in the name of the user who asked for it. No UPDATE or
-- DELETE grant: history is not rewritten.
GRANT SELECT, INSERT ON conversation_reviews, quality_judgements TO authenticated;

ALTER TABLE conversation_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality_judgements ENABLE ROW LEVEL SECURITY;

CREATE POLICY conversation_reviews_read ON conversation_reviews FOR SELECT TO authenticated USING (true);
CREATE POLICY conversation_reviews_insert ON conversation_reviews FOR INSERT TO authenticated
  WITH CHECK (reviewer = (auth.uid())::text);

CREATE POLICY quality_judgements_read ON quality_judgements FOR SELECT TO authenticated USING (true);
CREATE POLICY quality_judgements_insert ON quality_judgements FOR INSERT TO authenticated
  WITH CHECK (created_by = (auth.uid())::text);
