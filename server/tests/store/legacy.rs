//! Data written before accounts (and before channels, and before private messages were
//! channels) existed, through the migrations that followed: every scenario builds a database with the migrations of its time only (copied from
//! `server/migrations` or `server/migrations-postgres`), writes what a server of that time
//! wrote, then opens the store of today on it.

use chat_server::domain::{ChannelId, ServerOffset};
use chat_server::store::{AccountId, ChannelFilter, StoreLocation, WriteOutcome};
use sqlx::Connection as _;
use sqlx::migrate::Migrator;

use super::harness::{Fresh, WriteBatch};

store_suite!(
    names_written_before_accounts_become_guests_names,
    messages_written_before_channels_become_generals_history_with_their_offsets,
    private_messages_between_accounts_become_their_direct_channels,
);

/// The first migration of the identity work that changes data: everything before it ran.
const ACCOUNTS_MARK_OLD_NAMES: &str = "20261201000002";

/// A migrator with the migrations of `dir` older than `before`.
async fn migrations_before(dir: &str, before: &str) -> (Migrator, tempfile::TempDir) {
    let copy = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < before {
            std::fs::copy(&path, copy.path().join(&name)).unwrap();
        }
    }
    (Migrator::new(copy.path()).await.unwrap(), copy)
}

/// The migration that brings channels.
const CHANNELS: &str = "20261202000001";

/// The migration that makes private messages channels of two.
const DIRECT_CHANNELS: &str = "20261203000001";

/// Builds a database with the migrations before `mark` and the `rows` a server of that time
/// wrote.
async fn written_before(fresh: &Fresh, mark: &str, rows: &[String]) {
    match &fresh.location {
        StoreLocation::Sqlite(path) => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            let mut connection = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            let (old, _dir) = migrations_before("migrations", mark).await;
            old.run(&mut connection).await.unwrap();
            for row in rows {
                sqlx::query(row).execute(&mut connection).await.unwrap();
            }
            connection.close().await.unwrap();
        }
        StoreLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let (old, _dir) = migrations_before("migrations-postgres", mark).await;
            old.run(&pool).await.unwrap();
            for row in rows {
                sqlx::query(row).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

async fn messages_written_before_channels_become_generals_history_with_their_offsets(fresh: Fresh) {
    let rows: Vec<String> = (1..=300)
        .map(|id| {
            format!(
                "INSERT INTO messages (id, client_offset, content, created_at, author) \
                 VALUES ({id}, 'o-{id}', 'old {id}', {id}, 'guest-ana')"
            )
        })
        .collect();
    written_before(&fresh, CHANNELS, &rows).await;
    let store = fresh.open().await;
    let all = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 1000)
        .await
        .unwrap();
    assert_eq!(all.len(), 300);
    for (k, message) in all.iter().enumerate() {
        let id = k as i64 + 1;
        assert_eq!(message.id, ServerOffset(id), "every old offset is kept");
        assert_eq!(message.text, format!("old {id}"));
        assert_eq!(
            (message.channel, message.seq),
            (ChannelId::GENERAL, id),
            "in #general, in order"
        );
    }
    // The next message continues both sequences.
    let out = store
        .write(&[super::harness::message("new", "n-1")], 400)
        .await
        .unwrap();
    assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(301))]);
    let last = store
        .messages_after(ServerOffset(300), ChannelFilter::All, 10)
        .await
        .unwrap();
    assert_eq!((last[0].channel, last[0].seq), (ChannelId::GENERAL, 301));
    let general = store.channel(ChannelId::GENERAL).await.unwrap().unwrap();
    assert_eq!((general.name.as_str(), general.private), ("general", false));
}

/// What a server of the time before accounts wrote: public messages by claimed nicknames,
/// and private messages between them.
const OLD_ROWS: [&str; 3] = [
    "INSERT INTO messages (id, client_offset, content, created_at, author) VALUES (1, 'o-1', 'by vic?', 1, 'vic')",
    "INSERT INTO messages (id, client_offset, content, created_at, author) VALUES (2, 'o-2', 'nameless', 2, 'anonymous')",
    "INSERT INTO private_messages (client_offset, sender, recipient, content, created_at) VALUES ('p-1', 'carl', 'vic', 'psst', 3)",
];

async fn names_written_before_accounts_become_guests_names(fresh: Fresh) {
    let rows: Vec<String> = OLD_ROWS.iter().map(|row| row.to_string()).collect();
    written_before(&fresh, ACCOUNTS_MARK_OLD_NAMES, &rows).await;
    let store = fresh.open().await;
    let authors: Vec<String> = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.author)
        .collect();
    assert_eq!(authors, ["guest-vic", "anonymous"]);
    assert_eq!(
        store.channel(ChannelId(2)).await.unwrap(),
        None,
        "what was exchanged under nicknames becomes no conversation: no account wrote it"
    );
}

async fn private_messages_between_accounts_become_their_direct_channels(fresh: Fresh) {
    let mut rows: Vec<String> = ["ana", "bo", "cy"]
        .iter()
        .map(|name| {
            // In this order on a fresh database: ids 1, 2, 3.
            format!(
                "INSERT INTO accounts (username, username_key, password_hash, created_at, \
                 password_changed_at) VALUES ('{name}', '{name}', '$argon2id$x', 1, 1)"
            )
        })
        .collect();
    rows.extend((1..=3).map(|id| {
        format!(
            "INSERT INTO messages (id, client_offset, content, created_at, author, channel_id, \
             seq) VALUES ({id}, 'a1:o-{id}', 'public {id}', {id}, 'ana', 1, {id})"
        )
    }));
    let private = [
        ("a1:k1", "ana", "bo", "one"),
        ("a2:k1", "bo", "ana", "two"),
        ("a1:k2", "ana", "cy", "to cy"),
        ("a1:k3", "ana", "bo", "three"),
        ("g:k1", "guest-x", "guest-y", "before accounts"),
    ];
    rows.extend(private.iter().enumerate().map(|(k, (key, from, to, text))| {
        format!(
            "INSERT INTO private_messages (client_offset, sender, recipient, content, created_at) \
             VALUES ('{key}', '{from}', '{to}', '{text}', {})",
            10 + k
        )
    }));
    written_before(&fresh, DIRECT_CHANNELS, &rows).await;
    let store = fresh.open().await;

    let moved = store
        .messages_after(ServerOffset(3), ChannelFilter::All, 10)
        .await
        .unwrap();
    let seen: Vec<(i64, &str, &str, i64, i64)> = moved
        .iter()
        .map(|m| {
            (
                m.id.0,
                m.text.as_str(),
                m.author.as_str(),
                m.seq,
                m.created_at,
            )
        })
        .collect();
    let (ana, bo, cy) = (AccountId(1), AccountId(2), AccountId(3));
    let with_bo = store.direct_channel(ana, bo, 99).await.unwrap();
    let with_cy = store.direct_channel(cy, ana, 99).await.unwrap();
    assert!(
        !with_bo.created && !with_cy.created,
        "the migration made both"
    );
    assert_eq!(
        seen,
        [
            (4, "one", "ana", 1, 10),
            (5, "two", "bo", 2, 11),
            (6, "to cy", "ana", 1, 12),
            (7, "three", "ana", 3, 13),
        ],
        "new offsets after every old one, in their order, with a seq per conversation"
    );
    let channels: Vec<ChannelId> = moved.iter().map(|m| m.channel).collect();
    assert_eq!(channels, [with_bo.id, with_bo.id, with_cy.id, with_bo.id]);
    let old = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 3)
        .await
        .unwrap();
    assert_eq!(
        old.iter().map(|m| (m.id.0, m.channel)).collect::<Vec<_>>(),
        [
            (1, ChannelId::GENERAL),
            (2, ChannelId::GENERAL),
            (3, ChannelId::GENERAL)
        ],
        "public messages keep their offsets"
    );

    let listed = store.channels_of(bo, "bo").await.unwrap();
    let conversation = listed.iter().find(|c| c.id == with_bo.id).unwrap();
    assert_eq!(conversation.direct_with.as_deref(), Some("ana"));
    assert_eq!(
        (
            conversation.last_seq,
            conversation.last_read,
            conversation.unread
        ),
        (3, 3, 0),
        "delivered before: read"
    );
    assert_eq!(store.members(with_cy.id).await.unwrap(), ["ana", "cy"]);
    assert!(!store.is_member(with_bo.id, cy).await.unwrap());

    // A resend of a moved message is still a duplicate under its moved key.
    let resent = chat_server::domain::NewMessage {
        channel: with_bo.id,
        client_offset: chat_server::domain::ClientOffset::parse("pm:a1:k1".into()).unwrap(),
        ..super::harness::message("one", "unused")
    };
    assert_eq!(
        store.write(&[resent], 100).await.unwrap(),
        [WriteOutcome::Duplicate(ServerOffset(4))]
    );
}
