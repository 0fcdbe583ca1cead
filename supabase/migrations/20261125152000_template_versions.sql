-- The template manager keeps every version of a template's text: editing a template bumps
-- conversation_templates.version and records the new text here, so a generated conversation's
-- (template_id, template_version) always points at the exact prompt that produced it.

CREATE TABLE conversation_template_versions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  template_id UUID NOT NULL REFERENCES conversation_templates (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  template_name VARCHAR(200) NOT NULL,
  template_prompt TEXT NOT NULL,
  template_instructions TEXT,
  quality_requirements JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_by TEXT,
  change_note TEXT,
  CONSTRAINT conversation_template_versions_template_version_key UNIQUE (template_id, version),
  CONSTRAINT conversation_template_versions_version_positive CHECK (version >= 1)
);

-- Templates loaded before this migration get their current text recorded as their current version
-- (version 1 for every template nothing has edited yet).
INSERT INTO conversation_template_versions (
  template_id, version, template_name, template_prompt, template_instructions, quality_requirements,
  created_at, created_by, change_note
)
SELECT id, version, template_name, template_prompt, template_instructions, quality_requirements,
       created_at, created_by, 'Recorded when version history was introduced'
FROM conversation_templates
ON CONFLICT ON CONSTRAINT conversation_template_versions_template_version_key DO NOTHING;

-- Versions are history: signed-in users read them and add new ones (through the template manager);
-- nobody updates or deletes one. anon gets nothing.
GRANT SELECT, INSERT ON conversation_template_versions TO authenticated;
ALTER TABLE conversation_template_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY template_versions_read ON conversation_template_versions FOR SELECT TO authenticated USING (true);
CREATE POLICY template_versions_insert ON conversation_template_versions FOR INSERT TO authenticated
  WITH CHECK (true);
