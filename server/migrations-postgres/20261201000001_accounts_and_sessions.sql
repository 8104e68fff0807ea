-- Accounts and their sign-in sessions: the same schema as SQLite's migration of the same
-- name (server/migrations), for PostgreSQL.
--
-- `username` is the name as its owner typed it (shown); `username_key` its ASCII-lowercase
-- form, UNIQUE, so `Vic` and `vic` are one account (chat_protocol::accounts::Username).
-- `password_hash` is a PHC string (argon2id); the password itself is never stored.
CREATE TABLE IF NOT EXISTS accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL, -- unix milliseconds
    password_changed_at BIGINT NOT NULL -- unix milliseconds
);

-- One row per signed-in browser. Only the SHA-256 of the session id is stored: whoever
-- reads the database cannot sign in with what they read. Deleting an account deletes its
-- sessions; the index serves that, "sign out everywhere" and a password change.
CREATE TABLE IF NOT EXISTS sessions (
    id_hash BYTEA PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL, -- unix milliseconds
    last_seen_at BIGINT NOT NULL, -- unix milliseconds
    expires_at BIGINT NOT NULL -- unix milliseconds
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account_id);
