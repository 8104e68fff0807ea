-- Private messages become channels of two: the same as SQLite's migration of the same name
-- (server/migrations), which says why, for PostgreSQL. The messages table is locked as a
-- write locks it, so the moved messages' ids (max + 1, …) are taken in order.
LOCK TABLE messages IN EXCLUSIVE MODE;

ALTER TABLE channels ADD COLUMN IF NOT EXISTS direct BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TEMP TABLE moved_private ON COMMIT DROP AS
    SELECT p.id AS old_id,
           'pm:' || p.client_offset AS client_offset,
           p.content AS content,
           p.created_at AS created_at,
           s.username AS author,
           'direct:' || LEAST(s.id, r.id) || ':' || GREATEST(s.id, r.id) AS pair,
           LEAST(s.id, r.id) AS low,
           GREATEST(s.id, r.id) AS high,
           (SELECT COALESCE(MAX(id), 0) FROM messages) AS base
    FROM private_messages p
    JOIN accounts s ON s.username_key = lower(p.sender)
    JOIN accounts r ON r.username_key = lower(p.recipient);

INSERT INTO channels (name, name_key, private, direct, topic, created_by, created_at)
    SELECT pair, pair, TRUE, TRUE, '', NULL, MIN(created_at) FROM moved_private
    GROUP BY pair ORDER BY MIN(old_id);

INSERT INTO messages (id, client_offset, content, created_at, author, channel_id, seq)
    SELECT m.base + ROW_NUMBER() OVER (ORDER BY m.old_id), m.client_offset, m.content,
           m.created_at, m.author, c.id,
           ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY m.old_id)
    FROM moved_private m JOIN channels c ON c.name_key = m.pair
    ORDER BY m.old_id;

INSERT INTO channel_members (channel_id, account_id, last_read, joined_at)
    SELECT c.id, a.id, (SELECT MAX(seq) FROM messages WHERE channel_id = c.id), c.created_at
    FROM channels c
    JOIN (SELECT DISTINCT pair, low, high FROM moved_private) m ON m.pair = c.name_key
    JOIN accounts a ON a.id = m.low OR a.id = m.high
    ON CONFLICT DO NOTHING;

DELETE FROM private_messages WHERE id IN (SELECT old_id FROM moved_private);
