-- Private messages: between two nicknames, delivered and replayed only to those two. A
-- sequence of their own, so the public messages' offsets stay consecutive (clients detect a
-- missed public message by a jump). `client_offset` makes a resend idempotent, as for
-- public messages.
CREATE TABLE IF NOT EXISTS private_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_offset TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL -- unix milliseconds
);
CREATE INDEX IF NOT EXISTS private_messages_by_sender ON private_messages (sender, id);
CREATE INDEX IF NOT EXISTS private_messages_by_recipient ON private_messages (recipient, id);
