-- Latchkey schema, version 1. Forward-only: never edit a migration that has shipped.
-- Times are Unix seconds (UTC). Invariants live here as constraints, not only in code.

CREATE TABLE accounts (
    -- AUTOINCREMENT: a deleted account's id is never reused (links, logs, throttles).
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL until chosen (accounts imported from DingTalk start without one).
    account_name        TEXT COLLATE NOCASE UNIQUE
                        CHECK (account_name IS NULL OR length(account_name) BETWEEN 1 AND 64),
    display_name        TEXT NOT NULL DEFAULT '' CHECK (length(display_name) <= 128),
    -- Verified addresses only: an address is stored here once it has been proven.
    email               TEXT COLLATE NOCASE UNIQUE,
    mobile              TEXT UNIQUE,
    password_hash       TEXT,
    password_changed_at INTEGER,
    is_admin            INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at          INTEGER NOT NULL,
    last_logon_at       INTEGER
);

CREATE TABLE password_history (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hash        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX password_history_account ON password_history(account_id, id);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    -- SHA-256 of the cookie token: a database leak yields no usable session.
    token_hash       BLOB NOT NULL UNIQUE,
    account_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf_token       TEXT NOT NULL,
    -- 'active': fully logged on; 'password_expired': may only change the password;
    -- 'second_factor': password passed, second factor pending; 'bind_factor': must bind
    -- a second factor before anything else.
    stage            TEXT NOT NULL DEFAULT 'active'
                     CHECK (stage IN ('active', 'password_expired', 'second_factor', 'bind_factor')),
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    -- When the password was last proven in this session (for sensitive changes).
    authenticated_at INTEGER NOT NULL,
    user_agent       TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions(account_id, last_seen_at);

CREATE TABLE field_definitions (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 64),
    label        TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 128),
    kind         TEXT NOT NULL
                 CHECK (kind IN ('text', 'number', 'date', 'email', 'url', 'choice', 'bool')),
    required     INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
    is_unique    INTEGER NOT NULL DEFAULT 0 CHECK (is_unique IN (0, 1)),
    user_access  TEXT NOT NULL DEFAULT 'visible'
                 CHECK (user_access IN ('invisible', 'visible', 'editable')),
    pattern      TEXT,
    options      TEXT NOT NULL DEFAULT '[]', -- JSON array of strings (choice fields)
    position     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE field_values (
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    field_id     INTEGER NOT NULL REFERENCES field_definitions(id) ON DELETE CASCADE,
    value        TEXT NOT NULL,
    -- Equal to value when the field is unique, NULL otherwise (NULLs never collide).
    unique_value TEXT,
    PRIMARY KEY (account_id, field_id),
    UNIQUE (field_id, unique_value)
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    event       TEXT NOT NULL,
    -- Who acted (NULL: the system or an anonymous visitor) and whom it concerns.
    actor_id    INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    account_id  INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    -- Names kept as text so the log still reads after an account is deleted.
    actor_name  TEXT NOT NULL DEFAULT '',
    account_name TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_account ON audit_log(account_id, id);
CREATE INDEX audit_event ON audit_log(event, id);

-- Failed password/code checks per key ('name:<identifier>' or 'account:<id>').
CREATE TABLE throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
);

-- Small facts about this installation (the first-run setup token's hash).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
