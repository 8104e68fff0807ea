-- The same schema as SQLite's migrations (server/migrations), for PostgreSQL. Message ids
-- are assigned by the store under a table lock (max + 1), not by a sequence: they must be
-- consecutive and committed in order, whichever host writes (a sequence leaves gaps on
-- conflicts and rollbacks, and concurrent transactions could commit out of id order).
CREATE TABLE IF NOT EXISTS messages (
    id BIGINT PRIMARY KEY,
    client_offset TEXT UNIQUE,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL, -- unix milliseconds
    author TEXT NOT NULL DEFAULT 'anonymous'
);

-- Private messages: a sequence of their own (gaps are harmless: clients resume from the
-- highest private offset they saw).
CREATE TABLE IF NOT EXISTS private_messages (
    id BIGSERIAL PRIMARY KEY,
    client_offset TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS private_messages_by_sender ON private_messages (sender, id);
CREATE INDEX IF NOT EXISTS private_messages_by_recipient ON private_messages (recipient, id);
