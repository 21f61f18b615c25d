-- One compliance snapshot per day (UTC), taken by whichever replica gets
-- there first: the month-over-month trend of reports. summary is the JSON
-- of the figures by tier and site.
CREATE TABLE compliance_snapshots (
    day             TEXT    PRIMARY KEY,
    taken_at        BIGINT  NOT NULL,
    hosts           INTEGER NOT NULL,
    compliant       INTEGER NOT NULL,
    with_exceptions INTEGER NOT NULL,
    patches         INTEGER NOT NULL,
    patches_ok      INTEGER NOT NULL,
    breaches        INTEGER NOT NULL,
    kev_open        INTEGER NOT NULL,
    summary         TEXT    NOT NULL DEFAULT '{}'
);
