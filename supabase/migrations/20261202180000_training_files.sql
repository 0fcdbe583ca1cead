-- Training files: a named set of conversations written in the v4 layout. Membership can change; every change
-- makes a new immutable version whose files (v4 JSON and JSONL, chat JSONL, ShareGPT) are stored once, in the
-- data directory or in S3-compatible object storage, and are only ever served through the app.

CREATE TABLE training_files (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name VARCHAR(100) NOT NULL,
  description TEXT,
  target_model VARCHAR(100),
  -- 0 until the first version exists (a file is created together with its first version, so briefly).
  current_version INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT training_files_name_key UNIQUE (name),
  CONSTRAINT training_files_name_not_blank CHECK (length(btrim(name)) > 0),
  CONSTRAINT training_files_version_not_negative CHECK (current_version >= 0)
);

CREATE TABLE training_file_members (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  training_file_id UUID NOT NULL REFERENCES training_files (id) ON DELETE CASCADE,
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  added_in_version INTEGER NOT NULL,
  added_by TEXT,
  added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT training_file_members_key UNIQUE (training_file_id, conversation_id)
);
CREATE INDEX idx_training_file_members_conversation ON training_file_members (conversation_id);

CREATE TABLE training_file_versions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  training_file_id UUID NOT NULL REFERENCES training_files (id) ON DELETE CASCADE,
  version_number INTEGER NOT NULL,
  -- What changed from the previous version: {"action": "create"|"add"|"remove", "added": [...], "removed": [...]}.
  change JSONB NOT NULL,
  -- The members of this version (training_conversations ids, in conversation number order).
  conversation_ids JSONB NOT NULL,
  conversation_count INTEGER NOT NULL,
  pair_count INTEGER NOT NULL,
  -- The version's training_file_metadata exactly as written into its v4 JSON.
  file_metadata JSONB NOT NULL,
  -- One entry per stored file: {"<name>": {"sha256", "bytes", "key"}}.
  files JSONB NOT NULL,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT training_file_versions_number_key UNIQUE (training_file_id, version_number),
  CONSTRAINT training_file_versions_number_positive CHECK (version_number >= 1),
  CONSTRAINT training_file_versions_counts_positive CHECK (conversation_count >= 1 AND pair_count >= 1),
  CONSTRAINT training_file_versions_ids_array CHECK (jsonb_typeof(conversation_ids) = 'array'),
  CONSTRAINT training_file_versions_files_object CHECK (jsonb_typeof(files) = 'object')
);

-- Row-level security as for the other shared tables: everyone signed in reads every training file and may
-- change its membership; a file is created in the creator's own name; a version, once written, is never
-- updated or deleted by anyone signed in (it is what a download of that version serves).
GRANT SELECT, INSERT, UPDATE ON training_files TO authenticated;
GRANT SELECT, INSERT, DELETE ON training_file_members TO authenticated;
GRANT SELECT, INSERT ON training_file_versions TO authenticated;

ALTER TABLE training_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_file_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_file_versions ENABLE ROW LEVEL SECURITY;

CREATE POLICY training_files_read ON training_files FOR SELECT TO authenticated USING (true);
CREATE POLICY training_files_insert ON training_files FOR INSERT TO authenticated
  WITH CHECK (created_by = (auth.uid())::text);
CREATE POLICY training_files_update ON training_files FOR UPDATE TO authenticated USING (true) WITH CHECK (true);

CREATE POLICY training_file_members_read ON training_file_members FOR SELECT TO authenticated USING (true);
CREATE POLICY training_file_members_insert ON training_file_members FOR INSERT TO authenticated
  WITH CHECK (added_by = (auth.uid())::text);
CREATE POLICY training_file_members_delete ON training_file_members FOR DELETE TO authenticated USING (true);

CREATE POLICY training_file_versions_read ON training_file_versions FOR SELECT TO authenticated USING (true);
CREATE POLICY training_file_versions_insert ON training_file_versions FOR INSERT TO authenticated
  WITH CHECK (created_by = (auth.uid())::text);
