-- When a finding's advisories were first published, and what its fix is
-- (security, bugfix or enhancement): baselines' approve-after and
-- classification rules decide by them.
ALTER TABLE findings ADD COLUMN published BIGINT;
ALTER TABLE findings ADD COLUMN classification TEXT NOT NULL DEFAULT '';
