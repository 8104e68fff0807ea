-- Channels (the channels issue). Every message belongs to one channel; `#general` (id 1) is
-- everyone's and is the tutorial's stream, so every message stored before channels existed
-- becomes #general's history with its id (the offset clients resume from) unchanged.
--
-- A message keeps its global `id` (the one order every socket receives its channels'
-- messages in, across workers and hosts) and gets `seq`, its position in its channel,
-- consecutive from 1: assigned under the write lock as the channel's highest seq + 1, so a
-- channel's seqs have no gap whoever writes. Old messages get their rank (their ids were
-- consecutive, so for them seq = id).
--
-- `name_key` is the name in lowercase, UNIQUE: `#Dev` and `#dev` are one channel.
CREATE TABLE IF NOT EXISTS channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    private INTEGER NOT NULL DEFAULT 0,
    topic TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL -- unix milliseconds
);
INSERT OR IGNORE INTO channels (id, name, name_key, private, topic, created_by, created_at)
    VALUES (1, 'general', 'general', 0, '', NULL, 0);

-- Who is in which channel, and how far each has read it (`last_read`, a seq): unread counts
-- and read markers are kept here, so they agree across tabs and devices. Everyone is in
-- #general; an account's #general row is made when it first connects.
CREATE TABLE IF NOT EXISTS channel_members (
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    last_read INTEGER NOT NULL DEFAULT 0,
    joined_at INTEGER NOT NULL, -- unix milliseconds
    PRIMARY KEY (channel_id, account_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS channel_members_by_account ON channel_members (account_id);

ALTER TABLE messages ADD COLUMN channel_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET seq = ranked.rank
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rank FROM messages) AS ranked
    WHERE messages.id = ranked.id;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_channel ON messages (channel_id, seq);

-- Who each message mentions (`@name`, resolved to accounts when stored), by channel and
-- seq: the unread mentions of an account in a channel are one range of this index.
CREATE TABLE IF NOT EXISTS mentions (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (account_id, channel_id, seq)
) WITHOUT ROWID;
