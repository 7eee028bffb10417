-- Passkeys (WebAuthn credentials) as a second factor, and the state of a ceremony
-- between its two requests.

CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The credential id (hex), to find the row an assertion names.
    credential_id TEXT NOT NULL UNIQUE,
    -- The serialized webauthn-rs `Passkey` (public key, counter, flags): no secret.
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_account ON passkeys(account_id);

-- A registration or authentication started in one request and finished in the next.
-- Bound to the session; one per session and purpose; taken (deleted) when finished.
CREATE TABLE passkey_ceremonies (
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate')),
    state       TEXT NOT NULL,
    -- The name the user gave a passkey being registered.
    name        TEXT NOT NULL DEFAULT '',
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, purpose)
);
