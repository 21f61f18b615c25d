-- Policy: settings (the SLA), baselines, service baselines, tier rules and
-- exceptions as JSON objects with the columns queries need; the policy
-- outcome of each finding and each host's compliance.
CREATE TABLE settings (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE policy_objects (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL DEFAULT '',
    site       TEXT    NOT NULL DEFAULT '',
    host       TEXT    NOT NULL DEFAULT '',
    expires_at BIGINT,
    body       TEXT    NOT NULL,
    created_by TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX policy_objects_kind ON policy_objects(kind, state);
CREATE UNIQUE INDEX policy_objects_name ON policy_objects(kind, name) WHERE name <> '';

ALTER TABLE hosts ADD COLUMN high_exposure INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN compliance TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE hosts ADD COLUMN assessed_at BIGINT;

ALTER TABLE findings ADD COLUMN due_at BIGINT;
ALTER TABLE findings ADD COLUMN risk DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN sla TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN approved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN excepted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN policy TEXT NOT NULL DEFAULT '';
CREATE INDEX findings_risk ON findings(risk);
ALTER TABLE hosts ADD COLUMN tier_source TEXT NOT NULL DEFAULT 'default';
