-- The tutorial's table: one row per accepted message. `client_offset` is the client's
-- idempotency key (a retried message is stored once); `id` is the server offset every client
-- orders by and resumes from. AUTOINCREMENT keeps ids increasing even after deletes.
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_offset TEXT UNIQUE,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL -- unix milliseconds
);
