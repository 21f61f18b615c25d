-- Enrollment tokens may mark the hosts that join with them high-exposure.
ALTER TABLE enroll_tokens ADD COLUMN high_exposure INTEGER NOT NULL DEFAULT 0;
-- Where a host's exposure came from (manual, token, rule or default, like
-- tier_source), and which tier rule set its tier and its exposure, so
-- that a rule that goes reverts exactly what it set.
ALTER TABLE hosts ADD COLUMN exposure_source TEXT NOT NULL DEFAULT 'default';
ALTER TABLE hosts ADD COLUMN tier_rule BIGINT;
ALTER TABLE hosts ADD COLUMN exposure_rule BIGINT;
