-- Follow-up: tickets opened for failed tasks (one per host, patch and
-- reason: dedup_key is unique, so replicas never open two), their
-- history (occurrences, comments, escalations), operators'
-- troubleshooting guides, and notifications: channels and an outbox
-- that a worker delivers from with leases, retries and dead letters.
CREATE TABLE tickets (
    id               BIGSERIAL PRIMARY KEY,
    dedup_key        TEXT    NOT NULL UNIQUE,
    host_id          BIGINT  NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    hostname         TEXT    NOT NULL,
    site             TEXT    NOT NULL DEFAULT '',
    tier             TEXT    NOT NULL DEFAULT '',
    release_id       BIGINT,
    release_name     TEXT    NOT NULL DEFAULT '',
    kind             TEXT    NOT NULL,
    patch            TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    assignee         TEXT    NOT NULL DEFAULT '',
    queue            TEXT    NOT NULL DEFAULT '',
    task_id          BIGINT  NOT NULL,
    error            TEXT    NOT NULL DEFAULT '',
    occurrences      INTEGER NOT NULL DEFAULT 1,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    escalated_to     TEXT    NOT NULL DEFAULT '',
    opened_at        BIGINT  NOT NULL,
    last_seen_at     BIGINT  NOT NULL,
    acknowledged_at  BIGINT,
    closed_at        BIGINT,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX tickets_state ON tickets(state, severity);
CREATE INDEX tickets_host ON tickets(host_id, state);

-- Which task attempts a ticket has counted: a failure is counted once.
CREATE TABLE ticket_occurrences (
    task_id    BIGINT  NOT NULL,
    attempt    INTEGER NOT NULL,
    ticket_id  BIGINT  NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (task_id, attempt)
);

CREATE TABLE ticket_events (
    id         BIGSERIAL PRIMARY KEY,
    ticket_id  BIGINT  NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    body       TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);

CREATE TABLE guides (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    title      TEXT    NOT NULL,
    pattern    TEXT    NOT NULL,
    steps      TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE notify_channels (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    config     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    channel_id   BIGINT  NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
    dedup_key    TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT  NOT NULL,
    lease_holder TEXT    NOT NULL DEFAULT '',
    lease_until  BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    sent_at      BIGINT,
    UNIQUE (channel_id, dedup_key)
);
CREATE INDEX outbox_due ON outbox(state, next_at);

CREATE TABLE outbox_attempts (
    id        BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT  NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    attempt   INTEGER NOT NULL,
    holder    TEXT    NOT NULL,
    ok        INTEGER NOT NULL,
    error     TEXT    NOT NULL DEFAULT '',
    at        BIGINT  NOT NULL,
    UNIQUE (outbox_id, attempt)
);
