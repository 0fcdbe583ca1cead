-- An incomplete conversation completed by generation keeps its incomplete version as a revision, and the
-- audit trail records the status change the completion makes (incomplete -> generated).
ALTER TABLE conversation_revisions DROP CONSTRAINT conversation_revisions_valid_reason;
ALTER TABLE conversation_revisions ADD CONSTRAINT conversation_revisions_valid_reason
  CHECK (reason IN ('regenerated', 'completed'));

ALTER TABLE conversation_reviews DROP CONSTRAINT conversation_reviews_valid_source;
ALTER TABLE conversation_reviews ADD CONSTRAINT conversation_reviews_valid_source
  CHECK (source IN ('review', 'bulk_approve', 'bulk_flag', 'regenerate', 'complete'));

-- The audit trail knows the `incomplete` status too (20261202160000 added it to conversations only): a review of
-- an incomplete conversation, and a completion, record a change from it.
ALTER TABLE conversation_reviews DROP CONSTRAINT conversation_reviews_valid_statuses;
ALTER TABLE conversation_reviews ADD CONSTRAINT conversation_reviews_valid_statuses CHECK (
  from_status IN ('planned', 'in_progress', 'incomplete', 'generated', 'reviewed', 'approved', 'flagged', 'failed')
  AND to_status IN ('planned', 'in_progress', 'incomplete', 'generated', 'reviewed', 'approved', 'flagged', 'failed')
);
