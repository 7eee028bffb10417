-- Second factors, one-time codes and their delivery.

-- One-time codes sent by email or SMS. Only an HMAC of the code is stored.
CREATE TABLE codes (
    id          INTEGER PRIMARY KEY,
    purpose     TEXT NOT NULL
                CHECK (purpose IN ('bind_email', 'bind_mobile', 'logon_email', 'logon_sms', 'reset')),
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- The browser the code belongs to: a session (binding, logon) or, for a password
    -- reset, the SHA-256 of the reset cookie.
    session_id  INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
    flow_hash   BLOB,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    target      TEXT NOT NULL,
    code_mac    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    CHECK (session_id IS NOT NULL OR flow_hash IS NOT NULL)
);
CREATE INDEX codes_session ON codes(session_id);
CREATE INDEX codes_flow ON codes(flow_hash);
CREATE INDEX codes_account ON codes(account_id, created_at);

-- The OTP authenticator: secret encrypted with the key in data_dir.
CREATE TABLE otp_authenticators (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    secret_enc   BLOB NOT NULL,
    confirmed_at INTEGER,            -- NULL while the user has not entered a first code
    last_step    INTEGER,            -- the last accepted time step: never accepted twice
    created_at   INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_mac    TEXT NOT NULL,
    used_at     INTEGER,
    UNIQUE (account_id, code_mac)
);

-- Every attempt to deliver a code or notice, for the admin's view of failures.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    target      TEXT NOT NULL,
    account_id  INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    purpose     TEXT NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_at ON deliveries(id);
