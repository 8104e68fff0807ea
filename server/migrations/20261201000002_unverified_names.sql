-- Names written before accounts existed were whatever a client claimed (a nickname in its
-- connect auth). They are kept, but marked as guests' names: `guest-` first, a form no
-- account's username can take. So an account registered under an old nickname is never
-- shown as the author of what someone wrote under that name before, and is never replayed
-- the private messages exchanged under it (private messages are between accounts now).
UPDATE messages SET author = 'guest-' || author
    WHERE author NOT LIKE 'guest-%' AND author <> 'anonymous';
UPDATE private_messages SET sender = 'guest-' || sender, recipient = 'guest-' || recipient;
