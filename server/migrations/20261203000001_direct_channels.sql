-- Private messages become channels of two (the channels issue: one mechanism carries every
-- message). A *direct* channel (`direct` = 1, private) is keyed `direct:<lower account
-- id>:<higher account id>` in `name_key`, a key no channel name can take (names have no
-- `:`), so the pair has one channel, found or made on its first message.
--
-- Each pair of accounts that exchanged private messages gets its direct channel, with both
-- as members, and their messages move into it in their order as ordinary messages: new ids
-- after every existing one (the one global order clients resume from: nothing a client has
-- seen is renumbered), seqs 1, 2, … in the channel, author and time unchanged. Both members
-- start having read them all (they had been delivered). A client offset keeps its account
-- scope behind a `pm:` prefix, so it cannot collide with a public message's key.
--
-- Rows not between two accounts (written under claimed nicknames before accounts existed,
-- which the identity migration made `guest-…` and nobody has been able to read since) stay
-- in `private_messages`, which nothing reads or writes any more.
ALTER TABLE channels ADD COLUMN direct INTEGER NOT NULL DEFAULT 0;

CREATE TEMP TABLE moved_private AS
    SELECT p.id AS old_id,
           'pm:' || p.client_offset AS client_offset,
           p.content AS content,
           p.created_at AS created_at,
           s.username AS author,
           'direct:' || MIN(s.id, r.id) || ':' || MAX(s.id, r.id) AS pair,
           MIN(s.id, r.id) AS low,
           MAX(s.id, r.id) AS high,
           (SELECT COALESCE(MAX(id), 0) FROM messages) AS base
    FROM private_messages p
    JOIN accounts s ON s.username_key = lower(p.sender)
    JOIN accounts r ON r.username_key = lower(p.recipient);

INSERT INTO channels (name, name_key, private, direct, topic, created_by, created_at)
    SELECT pair, pair, 1, 1, '', NULL, MIN(created_at) FROM moved_private
    GROUP BY pair ORDER BY MIN(old_id);

INSERT INTO messages (id, client_offset, content, created_at, author, channel_id, seq)
    SELECT m.base + ROW_NUMBER() OVER (ORDER BY m.old_id), m.client_offset, m.content,
           m.created_at, m.author, c.id,
           ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY m.old_id)
    FROM moved_private m JOIN channels c ON c.name_key = m.pair
    ORDER BY m.old_id;

INSERT OR IGNORE INTO channel_members (channel_id, account_id, last_read, joined_at)
    SELECT c.id, a.id, (SELECT MAX(seq) FROM messages WHERE channel_id = c.id), c.created_at
    FROM channels c
    JOIN (SELECT DISTINCT pair, low, high FROM moved_private) m ON m.pair = c.name_key
    JOIN accounts a ON a.id = m.low OR a.id = m.high;

DELETE FROM private_messages WHERE id IN (SELECT old_id FROM moved_private);
DROP TABLE moved_private;
