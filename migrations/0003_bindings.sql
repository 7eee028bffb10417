-- External identities bound to accounts, and pending federated sign-ins.

CREATE TABLE bindings (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL,
    subject      TEXT NOT NULL,
    -- 'auto': made by import/provisioning, never unbindable; 'manual': made by the user.
    kind         TEXT NOT NULL CHECK (kind IN ('auto', 'manual')),
    display      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    -- One external identity belongs to at most one account…
    UNIQUE (connector_id, subject),
    -- …and an account has at most one identity per connector.
    UNIQUE (account_id, connector_id)
);
-- An account is automatically bound to at most one connector.
CREATE UNIQUE INDEX bindings_one_auto ON bindings(account_id) WHERE kind = 'auto';

-- A federated sign-in between `begin` and the callback: single use, 10 minutes, bound
-- to the browser by the SHA-256 of the `lk_flow` cookie.
CREATE TABLE login_flows (
    state         TEXT PRIMARY KEY,
    browser_hash  BLOB NOT NULL,
    connector_id  TEXT NOT NULL,
    purpose       TEXT NOT NULL CHECK (purpose IN ('login', 'bind')),
    account_id    INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    CHECK (purpose = 'login' OR account_id IS NOT NULL)
);
