-- Advisory feeds, their records, enrichment (KEV, EPSS, MSRC, end of life) and findings.
CREATE TABLE feeds (
    name            TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    url             TEXT    NOT NULL DEFAULT '',
    interval_secs   BIGINT  NOT NULL DEFAULT 0,
    etag            TEXT    NOT NULL DEFAULT '',
    last_modified   TEXT    NOT NULL DEFAULT '',
    last_attempt_at BIGINT,
    last_success_at BIGINT,
    records         BIGINT  NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE advisories (
    id          TEXT    PRIMARY KEY,
    feed        TEXT    NOT NULL,
    modified    BIGINT  NOT NULL,
    withdrawn   INTEGER NOT NULL DEFAULT 0,
    body        BYTEA   NOT NULL,
    imported_at BIGINT  NOT NULL
);
CREATE INDEX advisories_feed ON advisories(feed);

CREATE TABLE kev (
    cve        TEXT    PRIMARY KEY,
    date_added BIGINT  NOT NULL,
    due_date   BIGINT  NOT NULL,
    ransomware INTEGER NOT NULL DEFAULT 0,
    vendor     TEXT    NOT NULL DEFAULT '',
    product    TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE epss (
    cve         TEXT             PRIMARY KEY,
    probability DOUBLE PRECISION NOT NULL,
    percentile  DOUBLE PRECISION NOT NULL,
    scored_at   BIGINT           NOT NULL
);

CREATE TABLE msrc_releases (
    id          TEXT   PRIMARY KEY,
    released    BIGINT NOT NULL,
    body        BYTEA  NOT NULL,
    imported_at BIGINT NOT NULL
);

CREATE TABLE eol (
    product      TEXT   NOT NULL,
    cycle        TEXT   NOT NULL,
    eol          BIGINT NOT NULL,
    extended_eol BIGINT,
    source       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (product, cycle)
);

CREATE TABLE findings (
    id          BIGSERIAL PRIMARY KEY,
    host_id     BIGINT           NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    package     TEXT             NOT NULL,
    arch        TEXT             NOT NULL DEFAULT '',
    ecosystem   TEXT             NOT NULL,
    source      TEXT             NOT NULL DEFAULT '',
    installed   TEXT             NOT NULL,
    fixed       TEXT             NOT NULL DEFAULT '',
    state       TEXT             NOT NULL,
    advisories  TEXT             NOT NULL DEFAULT '[]',
    cves        TEXT             NOT NULL DEFAULT '[]',
    severity    TEXT             NOT NULL,
    cvss        DOUBLE PRECISION NOT NULL DEFAULT 0,
    kev         INTEGER          NOT NULL DEFAULT 0,
    epss        DOUBLE PRECISION NOT NULL DEFAULT 0,
    third_party INTEGER          NOT NULL DEFAULT 0,
    first_seen  BIGINT           NOT NULL,
    fixed_at    BIGINT,
    updated_at  BIGINT           NOT NULL,
    UNIQUE (host_id, package, arch)
);
CREATE INDEX findings_state ON findings(state, severity);

ALTER TABLE hosts ADD COLUMN os_eol BIGINT;
ALTER TABLE hosts ADD COLUMN pro INTEGER NOT NULL DEFAULT 0;
