-- Who wrote each message: the nickname the client chose (sent in its connect auth).
-- Messages stored before nicknames existed, and those of clients that send none (the
-- tutorial's own page), are by "anonymous".
ALTER TABLE messages ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous';
