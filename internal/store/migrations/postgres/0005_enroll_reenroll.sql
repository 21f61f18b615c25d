-- Enrollment tokens that may take over a host whose agent is still
-- enrolled; other tokens adopt only agentless hosts.
ALTER TABLE enroll_tokens ADD COLUMN allow_reenroll INTEGER NOT NULL DEFAULT 0;
