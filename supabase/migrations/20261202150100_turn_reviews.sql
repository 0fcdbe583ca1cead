-- Per-turn review: a reviewer's note on one turn and whether the turn is flagged, next to the
-- conversation-level decision. Append-only like conversation_reviews: each save is a new row, so the audit
-- keeps every note and every flag change with who made it and when; a turn's current note and flag are its
-- latest row. Rows go with their turn (a regeneration replaces the turns, and the revision keeps the old
-- version's content).
CREATE TABLE turn_reviews (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  turn_id UUID NOT NULL REFERENCES training_turns (id) ON DELETE CASCADE,
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  turn_number INTEGER NOT NULL,
  flagged BOOLEAN NOT NULL DEFAULT false,
  note TEXT,
  reviewer TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT turn_reviews_note_length CHECK (note IS NULL OR char_length(note) <= 5000)
);
CREATE INDEX idx_turn_reviews_turn ON turn_reviews (turn_id, created_at DESC);
CREATE INDEX idx_turn_reviews_conversation ON turn_reviews (conversation_id, created_at DESC);

-- As for conversation_reviews: every signed-in user reads everything, writes in their own name, and nobody
-- rewrites history (no UPDATE or DELETE grant).
GRANT SELECT, INSERT ON turn_reviews TO authenticated;
ALTER TABLE turn_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY turn_reviews_read ON turn_reviews FOR SELECT TO authenticated USING (true);
CREATE POLICY turn_reviews_insert ON turn_reviews FOR INSERT TO authenticated
  WITH CHECK (reviewer = (auth.uid())::text);
