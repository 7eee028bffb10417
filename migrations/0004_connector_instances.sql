-- Connector instances made in the admin console (those of `[[connectors]]` in the
-- configuration file are not stored). Settings whose plugin kind is `secret` are kept
-- apart, encrypted with the installation key (`keys.rs`): `secrets` holds the
-- XChaCha20-Poly1305 sealing of a JSON object, never the clear text.

CREATE TABLE connector_instances (
    id          TEXT PRIMARY KEY
                CHECK (length(id) BETWEEN 1 AND 64 AND id NOT GLOB '*[^a-z0-9-]*'),
    plugin      TEXT NOT NULL,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    login       INTEGER NOT NULL CHECK (login IN (0, 1)),
    bind        INTEGER NOT NULL CHECK (bind IN (0, 1)),
    provision   INTEGER NOT NULL CHECK (provision IN (0, 1)),
    allow_http  INTEGER NOT NULL CHECK (allow_http IN (0, 1)),
    match_by    TEXT NOT NULL
                CHECK (match_by IN ('none', 'email', 'mobile', 'account_name')),
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Non-secret settings: a JSON object of strings.
    settings    TEXT NOT NULL DEFAULT '{}',
    -- Secret settings: the sealed JSON object of strings (NULL: none set).
    secrets     BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
