-- Releases (frozen patch sets per group of hosts, each host's wave), their
-- rollouts (state, waves, approvals, decisions), the tasks agents run, and
-- leases that let one server replica at a time run a loop. Tasks outside a
-- rollout (a scan, a reboot asked for by a person) have no release.
CREATE TABLE releases (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    cycle           TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    released_at     BIGINT  NOT NULL,
    allow_no_window INTEGER NOT NULL DEFAULT 0,
    content_hash    TEXT    NOT NULL,
    waves           TEXT    NOT NULL,
    summary         TEXT    NOT NULL DEFAULT '{}',
    state           TEXT    NOT NULL,
    state_reason    TEXT    NOT NULL DEFAULT '',
    created_by      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX releases_state ON releases(state);

CREATE TABLE release_patch_sets (
    release_id BIGINT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    hash       TEXT   NOT NULL,
    ecosystem  TEXT   NOT NULL,
    patches    TEXT   NOT NULL,
    PRIMARY KEY (release_id, hash)
);

CREATE TABLE release_hosts (
    release_id BIGINT  NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    host_id    BIGINT  NOT NULL,
    hostname   TEXT    NOT NULL,
    wave       INTEGER NOT NULL,
    patch_set  TEXT    NOT NULL DEFAULT '',
    excluded   TEXT    NOT NULL DEFAULT '',
    held       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (release_id, host_id)
);
CREATE INDEX release_hosts_host ON release_hosts(host_id);

CREATE TABLE release_waves (
    release_id  BIGINT  NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    wave        INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    hosts       INTEGER NOT NULL DEFAULT 0,
    started_at  BIGINT,
    promoted_at BIGINT,
    note        TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (release_id, wave)
);

CREATE TABLE approvals (
    id         INTEGER PRIMARY KEY,
    release_id BIGINT  NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    wave       INTEGER NOT NULL,
    stage      TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    decision   TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX approvals_release ON approvals(release_id, wave);

CREATE TABLE rollout_events (
    id         INTEGER PRIMARY KEY,
    release_id BIGINT  NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    wave       INTEGER NOT NULL DEFAULT -1,
    host_id    BIGINT  NOT NULL DEFAULT 0,
    kind       TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX rollout_events_release ON rollout_events(release_id, id);

CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    release_id    BIGINT  REFERENCES releases(id) ON DELETE CASCADE,
    host_id       BIGINT  NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    wave          INTEGER NOT NULL,
    patch_set     TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL,
    attempt       INTEGER NOT NULL DEFAULT 1,
    first_result  TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    window_name   TEXT    NOT NULL DEFAULT '',
    not_after     BIGINT  NOT NULL,
    deadline_at   BIGINT  NOT NULL,
    error         TEXT    NOT NULL DEFAULT '',
    output        TEXT    NOT NULL DEFAULT '',
    reboot_required INTEGER NOT NULL DEFAULT 0,
    phase         TEXT    NOT NULL DEFAULT '',
    details       TEXT    NOT NULL DEFAULT '',
    hook          TEXT    NOT NULL DEFAULT '',
    rollback_of   BIGINT  NOT NULL DEFAULT 0,
    requested_by  TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    dispatched_at BIGINT,
    started_at    BIGINT,
    finished_at   BIGINT,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (release_id, host_id, kind)
);
CREATE INDEX tasks_host ON tasks(host_id, state);
CREATE INDEX tasks_state ON tasks(state, deadline_at);
CREATE INDEX tasks_updated ON tasks(state, updated_at);

CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
