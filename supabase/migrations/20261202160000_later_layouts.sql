-- The user's later layouts: lean annotations, half pairs, open endings, conversations keyed by their own
-- UUIDs and conversations outside the plan.
--
-- Lean pairs carry only detected emotions (often without confidence or valence) and no client needs: what a
-- file does not hold is stored as NULL, never invented.
ALTER TABLE emotional_context
  ALTER COLUMN primary_confidence DROP NOT NULL,
  ALTER COLUMN intensity DROP NOT NULL,
  ALTER COLUMN valence DROP NOT NULL,
  ALTER COLUMN valence_original DROP NOT NULL,
  ALTER COLUMN client_needs DROP NOT NULL;

-- A half pair (a client message whose null reply the next pair supplies) is merged into the exchange after
-- it; its source JSON is kept on that turn so the export gives the file's pairs back exactly.
ALTER TABLE training_turns
  ADD COLUMN source_half_pairs JSONB;

ALTER TABLE training_conversations
  -- The pairs after the last reply, as the file held them: the conversation ends on a client message, which
  -- is never stored as a turn nor exported as a training target.
  ADD COLUMN open_ending JSONB,
  -- The conversation's id in its source file when it fills a plan slot with another id (matched by
  -- scaffolding); a re-import finds it by this id.
  ADD COLUMN source_conversation_id VARCHAR(100),
  -- Where a conversation outside the plan came from, and the persona / arc / topic its file gave it.
  ADD COLUMN source_file TEXT,
  ADD COLUMN scaffolding JSONB,
  ADD CONSTRAINT training_conversations_source_conversation_id_key UNIQUE (source_conversation_id);

-- A conversation holding fewer pairs than its file declares is imported as incomplete (generation can
-- complete it later).
ALTER TABLE training_conversations DROP CONSTRAINT valid_generation_status;
ALTER TABLE training_conversations ADD CONSTRAINT valid_generation_status CHECK (
  generation_status IN ('planned', 'in_progress', 'generated', 'reviewed', 'approved', 'flagged', 'failed', 'incomplete')
);

-- The user's files number their pairs as they like and a long conversation may hold more than 6 exchanges: an
-- imported turn needs only a positive number (the generator still asks for at most 6).
ALTER TABLE training_turns DROP CONSTRAINT valid_turn_number;
ALTER TABLE training_turns ADD CONSTRAINT valid_turn_number CHECK (turn_number >= 1);
