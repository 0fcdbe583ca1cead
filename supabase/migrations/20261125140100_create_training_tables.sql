-- The eight tables of the requirements' schema, adapted so the user's real seed files fit with nothing lost
-- (see docs/decisions.md, "Lossless storage of free-text annotations"):
--   * free-text annotation columns are TEXT instead of VARCHAR(n) (a real structure type is 128 characters);
--   * valence and pacing keep the spec's canonical, filterable values and store the original beside them;
--   * every turn keeps its full source JSON, every conversation its file envelope, so export is lossless;
--   * conversation_number is unique and positive, not capped at 100 (sample seeds and benchmarks go beyond);
--   * user columns are TEXT: a Supabase user id or the local TDS_USER name.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ---------------------------------------------------------------------------------------------------------
-- 6. conversation_templates (created first: conversations and jobs refer to it)
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE conversation_templates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  template_id VARCHAR(50) NOT NULL,
  template_name VARCHAR(200) NOT NULL,
  letter VARCHAR(1),
  tier VARCHAR(20) NOT NULL,
  tier_description TEXT,
  emotional_arc_pattern TEXT,
  starting_emotion_pattern TEXT,
  ending_emotion_pattern TEXT,
  typical_turn_count INTEGER,
  structural_pattern_description TEXT,
  template_prompt TEXT NOT NULL,
  template_instructions TEXT,
  reference_conversation_ids JSONB,
  target_conversation_count INTEGER,
  generated_conversation_count INTEGER NOT NULL DEFAULT 0,
  quality_requirements JSONB,
  version INTEGER NOT NULL DEFAULT 1,
  is_active BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_by TEXT,
  updated_by TEXT,
  CONSTRAINT conversation_templates_template_id_key UNIQUE (template_id),
  CONSTRAINT conversation_templates_valid_tier CHECK (tier IN ('tier1_template', 'tier2_scenario', 'tier3_edge')),
  CONSTRAINT conversation_templates_version_positive CHECK (version >= 1)
);
CREATE INDEX idx_templates_tier ON conversation_templates (tier);
CREATE INDEX idx_templates_active ON conversation_templates (is_active);

-- ---------------------------------------------------------------------------------------------------------
-- 1. training_conversations
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE training_conversations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id VARCHAR(100) NOT NULL,
  conversation_number INTEGER NOT NULL,

  persona_type VARCHAR(50) NOT NULL,
  persona_name VARCHAR(100) NOT NULL,
  persona_description TEXT,

  topic_category TEXT NOT NULL,
  topic_description TEXT,

  tier VARCHAR(20) NOT NULL,
  tier_template VARCHAR(100),
  tier_batch INTEGER,
  template_id UUID REFERENCES conversation_templates (id) ON DELETE SET NULL,
  template_version INTEGER,

  starting_emotion VARCHAR(50),
  starting_emotion_intensity NUMERIC(3, 2),
  ending_emotion VARCHAR(50),
  ending_emotion_intensity NUMERIC(3, 2),
  emotional_arc_description TEXT,

  turn_count_target INTEGER,
  turn_count INTEGER NOT NULL DEFAULT 0,
  total_sentences INTEGER,
  total_word_count INTEGER,

  session_context TEXT,
  conversation_phase TEXT,
  expected_outcome TEXT,

  -- Self-reported scores from the conversation's own JSON (computed ones live in quality_metrics).
  quality_score NUMERIC(2, 1),
  empathy_score NUMERIC(2, 1),
  clarity_score NUMERIC(2, 1),
  appropriateness_score NUMERIC(2, 1),
  brand_voice_score NUMERIC(2, 1),
  domain_specific_score NUMERIC(2, 1),

  generation_status VARCHAR(20) NOT NULL DEFAULT 'planned',
  generation_method VARCHAR(50),
  generation_model VARCHAR(100),
  generation_date TIMESTAMPTZ,
  generation_duration_seconds NUMERIC(10, 2),
  generation_cost_cents NUMERIC(12, 4),
  generation_attempts INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cache_write_tokens INTEGER,
  generation_error TEXT,

  is_seed_example BOOLEAN NOT NULL DEFAULT false,
  use_for_variations BOOLEAN NOT NULL DEFAULT false,
  variation_count_target INTEGER,

  human_reviewed BOOLEAN NOT NULL DEFAULT false,
  reviewer_notes TEXT,
  review_date TIMESTAMPTZ,
  reviewed_by TEXT,

  -- The file-level keys of the source document (dataset_metadata, consultant_profile, ...), for export.
  source_envelope JSONB,

  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_by TEXT,
  updated_by TEXT,

  CONSTRAINT training_conversations_conversation_id_key UNIQUE (conversation_id),
  CONSTRAINT training_conversations_conversation_number_key UNIQUE (conversation_number),
  CONSTRAINT valid_conversation_number CHECK (conversation_number >= 1),
  CONSTRAINT valid_tier CHECK (tier IN ('tier1_template', 'tier2_scenario', 'tier3_edge')),
  CONSTRAINT valid_generation_status CHECK (
    generation_status IN ('planned', 'in_progress', 'generated', 'reviewed', 'approved', 'flagged', 'failed')
  ),
  CONSTRAINT valid_intensities CHECK (
    (starting_emotion_intensity IS NULL OR starting_emotion_intensity BETWEEN 0 AND 1)
    AND (ending_emotion_intensity IS NULL OR ending_emotion_intensity BETWEEN 0 AND 1)
  ),
  CONSTRAINT valid_quality_scores CHECK (
    (quality_score IS NULL OR quality_score BETWEEN 1.0 AND 5.0)
    AND (empathy_score IS NULL OR empathy_score BETWEEN 1.0 AND 5.0)
    AND (clarity_score IS NULL OR clarity_score BETWEEN 1.0 AND 5.0)
    AND (appropriateness_score IS NULL OR appropriateness_score BETWEEN 1.0 AND 5.0)
    AND (brand_voice_score IS NULL OR brand_voice_score BETWEEN 1.0 AND 5.0)
    AND (domain_specific_score IS NULL OR domain_specific_score BETWEEN 1.0 AND 5.0)
  )
);
CREATE INDEX idx_conversations_persona ON training_conversations (persona_type);
CREATE INDEX idx_conversations_tier ON training_conversations (tier);
CREATE INDEX idx_conversations_status ON training_conversations (generation_status);
CREATE INDEX idx_conversations_topic ON training_conversations (topic_category);
CREATE INDEX idx_conversations_is_seed ON training_conversations (is_seed_example);
CREATE INDEX idx_conversations_template ON training_conversations (tier_template);
CREATE INDEX idx_conversations_quality ON training_conversations (quality_score);
-- Matrix filters combine persona, tier and status and sort by number.
CREATE INDEX idx_conversations_matrix ON training_conversations (persona_type, tier, generation_status, conversation_number);
-- Topic search is a case-insensitive substring match: trigram indexes make it fast at any size.
CREATE INDEX idx_conversations_topic_trgm ON training_conversations USING gin (topic_category gin_trgm_ops);
CREATE INDEX idx_conversations_topic_desc_trgm ON training_conversations USING gin (topic_description gin_trgm_ops);

-- ---------------------------------------------------------------------------------------------------------
-- 2. training_turns
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE training_turns (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  turn_id VARCHAR(150) NOT NULL,
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  turn_number INTEGER NOT NULL,

  system_prompt TEXT NOT NULL,
  user_input TEXT NOT NULL,
  user_intent TEXT,
  target_response TEXT NOT NULL,
  target_response_word_count INTEGER,
  target_response_sentence_count INTEGER,
  response_structure_type TEXT,

  positive_indicators JSONB,
  neutral_indicators JSONB,
  negative_indicators JSONB,

  difficulty_level VARCHAR(50),
  key_learning_objective TEXT,
  demonstrates_skills JSONB,
  emotional_progression_target TEXT,
  conversation_history JSONB,

  -- The turn exactly as it arrived (or was generated): the lossless record every export is built from.
  source_json JSONB NOT NULL,
  content_tsv TSVECTOR GENERATED ALWAYS AS (
    to_tsvector('english', coalesce(user_input, '') || ' ' || coalesce(target_response, ''))
  ) STORED,

  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

  CONSTRAINT training_turns_turn_id_key UNIQUE (turn_id),
  CONSTRAINT valid_turn_number CHECK (turn_number BETWEEN 1 AND 6),
  CONSTRAINT unique_conversation_turn UNIQUE (conversation_id, turn_number)
);
CREATE INDEX idx_turns_turn_number ON training_turns (turn_number);
CREATE INDEX idx_turns_difficulty ON training_turns (difficulty_level);
CREATE INDEX idx_turns_content_tsv ON training_turns USING gin (content_tsv);

-- ---------------------------------------------------------------------------------------------------------
-- 3. emotional_context
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE emotional_context (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  turn_id UUID NOT NULL REFERENCES training_turns (id) ON DELETE CASCADE,

  primary_emotion VARCHAR(100) NOT NULL,
  primary_confidence NUMERIC(3, 2) NOT NULL,
  secondary_emotion VARCHAR(100),
  secondary_confidence NUMERIC(3, 2),
  tertiary_emotion VARCHAR(100),
  tertiary_confidence NUMERIC(3, 2),
  intensity NUMERIC(3, 2) NOT NULL,
  -- Canonical valence for filtering; the source's own wording is kept in valence_original.
  valence VARCHAR(20) NOT NULL,
  valence_original TEXT NOT NULL,

  explicit_emotion_words JSONB,
  uncertainty_language JSONB,
  self_deprecation JSONB,
  time_pressure JSONB,
  social_comparison JSONB,
  decision_paralysis JSONB,
  vulnerability JSONB,
  enthusiasm JSONB,
  -- Every indicator list under its own key, including keys outside the eight above.
  emotional_indicators JSONB,

  previous_turn_emotion VARCHAR(100),
  current_turn_emotion VARCHAR(100),
  progression_description TEXT,
  intensity_change NUMERIC(3, 2),
  emotional_progression JSONB,

  risk_level TEXT,
  engagement_readiness TEXT,
  knowledge_level TEXT,
  trust_level TEXT,
  behavioral_assessment JSONB,

  client_needs JSONB NOT NULL,
  red_flags JSONB,

  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),

  CONSTRAINT unique_turn_emotional_context UNIQUE (turn_id),
  CONSTRAINT valid_confidence_scores CHECK (
    primary_confidence BETWEEN 0.00 AND 1.00
    AND (secondary_confidence IS NULL OR secondary_confidence BETWEEN 0.00 AND 1.00)
    AND (tertiary_confidence IS NULL OR tertiary_confidence BETWEEN 0.00 AND 1.00)
  ),
  CONSTRAINT valid_valence CHECK (valence IN ('positive', 'negative', 'mixed'))
);
CREATE INDEX idx_emotional_context_primary ON emotional_context (primary_emotion);
CREATE INDEX idx_emotional_context_valence ON emotional_context (valence);

-- ---------------------------------------------------------------------------------------------------------
-- 4. response_strategies
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE response_strategies (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  turn_id UUID NOT NULL REFERENCES training_turns (id) ON DELETE CASCADE,

  primary_strategy TEXT NOT NULL,
  primary_rationale TEXT NOT NULL,
  secondary_strategies JSONB,
  tone_selection TEXT NOT NULL,
  tone_rationale TEXT,
  -- Canonical pacing for filtering; the source's own wording is kept in pacing_original.
  pacing VARCHAR(20) NOT NULL,
  pacing_original TEXT NOT NULL,
  tactical_choices JSONB NOT NULL,
  avoid_tactics JSONB,
  specific_techniques JSONB NOT NULL,

  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),

  CONSTRAINT unique_turn_response_strategy UNIQUE (turn_id),
  CONSTRAINT valid_pacing CHECK (pacing IN ('slow', 'moderate', 'fast'))
);
CREATE INDEX idx_response_strategies_primary ON response_strategies (primary_strategy);

-- ---------------------------------------------------------------------------------------------------------
-- 5. response_breakdowns
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE response_breakdowns (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  turn_id UUID NOT NULL REFERENCES training_turns (id) ON DELETE CASCADE,

  sentence_number INTEGER NOT NULL,
  sentence_text TEXT NOT NULL,
  function TEXT NOT NULL,
  emotional_purpose TEXT NOT NULL,
  technique TEXT NOT NULL,
  teaches_model TEXT NOT NULL,
  word_choice_rationale JSONB NOT NULL,
  psychological_principle TEXT,
  stylistic_note TEXT,

  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),

  CONSTRAINT unique_turn_sentence UNIQUE (turn_id, sentence_number)
);
CREATE INDEX idx_response_breakdowns_sentence_num ON response_breakdowns (sentence_number);

-- ---------------------------------------------------------------------------------------------------------
-- 7. generation_jobs
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE generation_jobs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  job_type VARCHAR(50) NOT NULL,
  target_conversation_ids JSONB NOT NULL,
  total_conversations INTEGER NOT NULL,
  template_id UUID REFERENCES conversation_templates (id) ON DELETE SET NULL,

  status VARCHAR(20) NOT NULL DEFAULT 'queued',
  current_conversation_index INTEGER NOT NULL DEFAULT 0,
  completed_conversations INTEGER NOT NULL DEFAULT 0,
  failed_conversations INTEGER NOT NULL DEFAULT 0,

  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  total_duration_seconds NUMERIC(12, 2),

  total_api_calls INTEGER NOT NULL DEFAULT 0,
  total_tokens_used INTEGER NOT NULL DEFAULT 0,
  total_cost_cents NUMERIC(12, 4) NOT NULL DEFAULT 0,

  error_message TEXT,
  failed_conversation_ids JSONB,
  results_summary JSONB,

  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

  CONSTRAINT valid_job_type CHECK (job_type IN ('single', 'batch', 'process_all')),
  CONSTRAINT valid_status CHECK (
    status IN ('queued', 'in_progress', 'paused', 'completed', 'failed', 'cancelled')
  )
);
CREATE INDEX idx_generation_jobs_status ON generation_jobs (status);
CREATE INDEX idx_generation_jobs_created_by ON generation_jobs (created_by);
CREATE INDEX idx_generation_jobs_created_at ON generation_jobs (created_at DESC);

-- ---------------------------------------------------------------------------------------------------------
-- 8. quality_metrics
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE quality_metrics (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,

  total_turns INTEGER NOT NULL,
  total_sentences INTEGER NOT NULL,
  total_word_count INTEGER NOT NULL,
  average_words_per_sentence NUMERIC(5, 1),

  -- Scores are NULL until something measured them (the JSON's own scores or an LLM judge): never invented.
  overall_quality_score NUMERIC(2, 1),
  empathy_score NUMERIC(2, 1),
  clarity_score NUMERIC(2, 1),
  appropriateness_score NUMERIC(2, 1),
  brand_voice_alignment NUMERIC(2, 1),
  -- Share of deterministic checks passed, 0..1, and each failed check with its guidance.
  computed_score NUMERIC(4, 3),
  checks JSONB,
  issues JSONB,

  has_complete_emotional_context BOOLEAN NOT NULL DEFAULT false,
  has_emotional_progression BOOLEAN NOT NULL DEFAULT false,
  emotional_indicator_count INTEGER,
  has_primary_strategy BOOLEAN NOT NULL DEFAULT false,
  has_strategy_rationale BOOLEAN NOT NULL DEFAULT false,
  technique_count INTEGER,
  sentences_analyzed INTEGER,
  sentences_with_word_rationale INTEGER,
  word_choice_rationale_completeness NUMERIC(3, 2),

  all_required_fields_complete BOOLEAN NOT NULL DEFAULT false,
  ready_for_training BOOLEAN NOT NULL DEFAULT false,
  needs_review BOOLEAN NOT NULL DEFAULT false,

  reviewer_approved BOOLEAN NOT NULL DEFAULT false,
  reviewer_notes TEXT,
  review_date TIMESTAMPTZ,

  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

  CONSTRAINT unique_conversation_metrics UNIQUE (conversation_id),
  CONSTRAINT quality_metrics_valid_scores CHECK (
    (overall_quality_score IS NULL OR overall_quality_score BETWEEN 1.0 AND 5.0)
    AND (empathy_score IS NULL OR empathy_score BETWEEN 1.0 AND 5.0)
    AND (clarity_score IS NULL OR clarity_score BETWEEN 1.0 AND 5.0)
    AND (appropriateness_score IS NULL OR appropriateness_score BETWEEN 1.0 AND 5.0)
    AND (brand_voice_alignment IS NULL OR brand_voice_alignment BETWEEN 1.0 AND 5.0)
  )
);
CREATE INDEX idx_quality_metrics_ready_for_training ON quality_metrics (ready_for_training);
CREATE INDEX idx_quality_metrics_needs_review ON quality_metrics (needs_review);
