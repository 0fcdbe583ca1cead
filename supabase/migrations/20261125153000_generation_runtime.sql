-- What the generation engine needs beyond the spec's generation_jobs: one row per conversation of a job,
-- every attempt with its raw reply, a live event log, and the provider's rate-limit state shared by all
-- workers.

ALTER TABLE generation_jobs
  ADD COLUMN options JSONB NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN budget_cents NUMERIC(12, 4),
  ADD COLUMN notify_email TEXT,
  ADD COLUMN provider VARCHAR(50),
  ADD COLUMN model VARCHAR(100),
  ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN paused_reason TEXT,
  ADD COLUMN batch_id TEXT;

CREATE TABLE generation_job_items (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  job_id UUID NOT NULL REFERENCES generation_jobs (id) ON DELETE CASCADE,
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  procrastinate_job_id BIGINT,
  error TEXT,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  duration_seconds NUMERIC(10, 2),
  cost_cents NUMERIC(12, 4),
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cache_write_tokens INTEGER,
  quality_score NUMERIC(2, 1),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT generation_job_items_job_conversation_key UNIQUE (job_id, conversation_id),
  CONSTRAINT generation_job_items_valid_status CHECK (
    status IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'paused', 'cancelled')
  )
);
CREATE INDEX idx_generation_job_items_job ON generation_job_items (job_id, position);
CREATE INDEX idx_generation_job_items_conversation ON generation_job_items (conversation_id);

-- Every model call, failed ones included, with the raw reply kept for inspection.
CREATE TABLE generation_attempts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  item_id UUID NOT NULL REFERENCES generation_job_items (id) ON DELETE CASCADE,
  conversation_id UUID NOT NULL REFERENCES training_conversations (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  kind VARCHAR(20) NOT NULL DEFAULT 'generate',
  outcome VARCHAR(20) NOT NULL,
  stop_reason VARCHAR(50),
  http_status INTEGER,
  raw_reply TEXT,
  problems JSONB,
  input_tokens INTEGER,
  output_tokens INTEGER,
  duration_seconds NUMERIC(10, 2),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT generation_attempts_valid_kind CHECK (kind IN ('generate', 'repair', 'batch')),
  CONSTRAINT generation_attempts_valid_outcome CHECK (
    outcome IN ('accepted', 'invalid', 'rate_limited', 'overloaded', 'server_error', 'refused', 'aborted', 'error')
  )
);
CREATE INDEX idx_generation_attempts_item ON generation_attempts (item_id, created_at);

-- The step log of US-TRAIN-003, published live: every insert notifies channel tds_job_events, so every web
-- process sees every worker's events.
CREATE TABLE generation_job_events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id UUID NOT NULL REFERENCES generation_jobs (id) ON DELETE CASCADE,
  item_id UUID REFERENCES generation_job_items (id) ON DELETE CASCADE,
  conversation_number INTEGER,
  level VARCHAR(10) NOT NULL DEFAULT 'info',
  step VARCHAR(50) NOT NULL,
  message TEXT NOT NULL,
  data JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT generation_job_events_valid_level CHECK (level IN ('info', 'success', 'warning', 'error'))
);
CREATE INDEX idx_generation_job_events_job ON generation_job_events (job_id, id);

CREATE FUNCTION notify_generation_job_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tds_job_events', json_build_object('id', NEW.id, 'job_id', NEW.job_id)::text);
  RETURN NEW;
END
$$;

CREATE TRIGGER generation_job_events_notify
  AFTER INSERT ON generation_job_events
  FOR EACH ROW EXECUTE FUNCTION notify_generation_job_event();

-- One row per provider: the latest rate-limit budgets seen by any worker, and a pause every worker honours
-- after a 429.
CREATE TABLE provider_rate_state (
  provider VARCHAR(50) PRIMARY KEY,
  blocked_until TIMESTAMPTZ,
  requests_remaining INTEGER,
  requests_reset TIMESTAMPTZ,
  input_tokens_remaining INTEGER,
  input_tokens_reset TIMESTAMPTZ,
  output_tokens_remaining INTEGER,
  output_tokens_reset TIMESTAMPTZ,
  consecutive_overloads INTEGER NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE generation_job_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE generation_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE generation_job_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE provider_rate_state ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON generation_attempts TO authenticated;
GRANT SELECT, INSERT, UPDATE ON generation_job_items TO authenticated;
GRANT SELECT, INSERT ON generation_job_events TO authenticated;
CREATE POLICY attempts_read ON generation_attempts FOR SELECT TO authenticated USING (true);
CREATE POLICY job_events_read ON generation_job_events FOR SELECT TO authenticated USING (true);
CREATE POLICY job_items_read ON generation_job_items FOR SELECT TO authenticated USING (true);
-- Items and events belong to a job: only the job's creator may add or change them.
CREATE POLICY job_items_write_own ON generation_job_items FOR INSERT TO authenticated
  WITH CHECK (EXISTS (SELECT 1 FROM generation_jobs j WHERE j.id = job_id AND j.created_by = (auth.uid())::text));
CREATE POLICY job_items_update_own ON generation_job_items FOR UPDATE TO authenticated
  USING (EXISTS (SELECT 1 FROM generation_jobs j WHERE j.id = job_id AND j.created_by = (auth.uid())::text));
CREATE POLICY job_events_write_own ON generation_job_events FOR INSERT TO authenticated
  WITH CHECK (EXISTS (SELECT 1 FROM generation_jobs j WHERE j.id = job_id AND j.created_by = (auth.uid())::text));
