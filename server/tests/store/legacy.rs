//! Data written before accounts (and before channels) existed, through the migrations that
//! followed: every
//! scenario builds a database with the migrations of its time only (copied from
//! `server/migrations` or `server/migrations-postgres`), writes what a server of that time
//! wrote, then opens the store of today on it.

use chat_server::domain::{ChannelId, ServerOffset};
use chat_server::store::{ChannelFilter, StoreLocation, WriteOutcome};
use sqlx::Connection as _;
use sqlx::migrate::Migrator;

use super::harness::{Fresh, WriteBatch};

store_suite!(
    names_written_before_accounts_become_guests_names,
    messages_written_before_channels_become_generals_history_with_their_offsets,
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
    assert!(
        store
            .private_messages_after("vic", ServerOffset(0), 10)
            .await
            .unwrap()
            .is_empty(),
        "an account named vic is not replayed what was exchanged under that nickname"
    );
    let kept = store
        .private_messages_after("guest-vic", ServerOffset(0), 10)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "kept, under the marked name");
    assert_eq!(
        (kept[0].from.as_str(), kept[0].to.as_str()),
        ("guest-carl", "guest-vic")
    );
}
