//! Data written before accounts existed, through the migrations that followed: every
//! scenario builds a database with the migrations of its time only (copied from
//! `server/migrations` or `server/migrations-postgres`), writes what a server of that time
//! wrote, then opens the store of today on it.

use chat_server::domain::ServerOffset;
use chat_server::store::StoreLocation;
use sqlx::Connection as _;
use sqlx::migrate::Migrator;

use super::harness::Fresh;

store_suite!(names_written_before_accounts_become_guests_names);

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

/// What a server of the time before accounts wrote: public messages by claimed nicknames,
/// and private messages between them.
const OLD_ROWS: [&str; 3] = [
    "INSERT INTO messages (id, client_offset, content, created_at, author) VALUES (1, 'o-1', 'by vic?', 1, 'vic')",
    "INSERT INTO messages (id, client_offset, content, created_at, author) VALUES (2, 'o-2', 'nameless', 2, 'anonymous')",
    "INSERT INTO private_messages (client_offset, sender, recipient, content, created_at) VALUES ('p-1', 'carl', 'vic', 'psst', 3)",
];

async fn names_written_before_accounts_become_guests_names(fresh: Fresh) {
    match &fresh.location {
        StoreLocation::Sqlite(path) => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            let mut connection = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            let (old, _dir) = migrations_before("migrations", ACCOUNTS_MARK_OLD_NAMES).await;
            old.run(&mut connection).await.unwrap();
            for row in OLD_ROWS {
                sqlx::query(row).execute(&mut connection).await.unwrap();
            }
            connection.close().await.unwrap();
        }
        StoreLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let (old, _dir) =
                migrations_before("migrations-postgres", ACCOUNTS_MARK_OLD_NAMES).await;
            old.run(&pool).await.unwrap();
            for row in OLD_ROWS {
                sqlx::query(row).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
    let store = fresh.open().await;
    let authors: Vec<String> = store
        .messages_after(ServerOffset(0), 10)
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
