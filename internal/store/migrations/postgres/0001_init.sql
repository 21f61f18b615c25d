-- Users, credentials, enrollment, hosts and their package sets, audit trail.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    sites         TEXT    NOT NULL DEFAULT '[]',
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    expires_at   BIGINT,
    last_used_at BIGINT,
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE enroll_tokens (
    id         BIGSERIAL PRIMARY KEY,
    prefix     TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    site       TEXT    NOT NULL DEFAULT '',
    tier       TEXT    NOT NULL DEFAULT '',
    tags       TEXT    NOT NULL DEFAULT '[]',
    max_uses   INTEGER NOT NULL DEFAULT 0,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT  NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE package_sets (
    id         BIGSERIAL PRIMARY KEY,
    hash       TEXT    NOT NULL UNIQUE,
    count      INTEGER NOT NULL,
    body       BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE hosts (
    id              BIGSERIAL PRIMARY KEY,
    hostname        TEXT    NOT NULL UNIQUE,
    fqdn            TEXT    NOT NULL DEFAULT '',
    site            TEXT    NOT NULL DEFAULT '',
    tier            TEXT    NOT NULL,
    owner           TEXT    NOT NULL DEFAULT '',
    tags            TEXT    NOT NULL DEFAULT '[]',
    os_family       TEXT    NOT NULL DEFAULT '',
    os_id           TEXT    NOT NULL DEFAULT '',
    os_name         TEXT    NOT NULL DEFAULT '',
    os_version      TEXT    NOT NULL DEFAULT '',
    os_codename     TEXT    NOT NULL DEFAULT '',
    kernel          TEXT    NOT NULL DEFAULT '',
    arch            TEXT    NOT NULL DEFAULT '',
    uptime          BIGINT  NOT NULL DEFAULT 0,
    services        TEXT    NOT NULL DEFAULT '[]',
    facts_hash      TEXT    NOT NULL DEFAULT '',
    package_set_id  BIGINT  REFERENCES package_sets(id),
    managed         INTEGER NOT NULL DEFAULT 0,
    agent_version   TEXT    NOT NULL DEFAULT '',
    credential_hash TEXT    UNIQUE,
    enroll_token_id BIGINT  REFERENCES enroll_tokens(id) ON DELETE SET NULL,
    enrolled_at     BIGINT,
    last_seen_at    BIGINT,
    revoked_at      BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX hosts_site ON hosts(site);
CREATE INDEX hosts_tier ON hosts(tier);
CREATE INDEX hosts_package_set ON hosts(package_set_id);

CREATE TABLE host_interfaces (
    host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    name    TEXT   NOT NULL,
    mac     TEXT   NOT NULL DEFAULT '',
    ips     TEXT   NOT NULL DEFAULT '[]',
    PRIMARY KEY (host_id, name)
);

CREATE TABLE audit_events (
    id     BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    object TEXT   NOT NULL,
    detail TEXT   NOT NULL DEFAULT '',
    hash   TEXT   NOT NULL
);
