//! The store suite's harness: a fresh store of each kind, the helpers its scenarios share,
//! and the macro that runs every scenario against both.

use chat_server::domain::{ChannelId, ClientOffset, MessageText, NewMessage, Nickname};
use chat_server::store::{Store, StoreError, StoreLocation, WriteOutcome};

/// `insert_batch` on a borrowed batch, checking that the committed batch comes back as given.
pub trait WriteBatch {
    async fn write(&self, batch: &[NewMessage], at: i64) -> Result<Vec<WriteOutcome>, StoreError>;
}

impl WriteBatch for Store {
    async fn write(&self, batch: &[NewMessage], at: i64) -> Result<Vec<WriteOutcome>, StoreError> {
        let committed = self.insert_batch(batch.to_vec(), at).await?;
        assert_eq!(committed.messages, batch, "the batch comes back as given");
        assert_eq!(committed.outcomes.len(), batch.len());
        Ok(committed.outcomes)
    }
}

/// A fresh, empty store and where it lives (to open it again); the guard removes it.
pub struct Fresh {
    pub location: StoreLocation,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            location: StoreLocation::Sqlite(dir.path().join("nested/chat.db")),
            _dir: Some(dir),
        }
    }

    /// `None` when PostgreSQL tests are explicitly skipped.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("CHAT_TEST_POSTGRES_URL") else {
            if std::env::var("CHAT_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
                return None;
            }
            panic!(
                "set CHAT_TEST_POSTGRES_URL (`scripts/postgres.sh start` prints one) or \
                 CHAT_TEST_SKIP_POSTGRES=1"
            );
        };
        let name = format!(
            "chat_test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        Some(Self {
            location: StoreLocation::Postgres(format!("{base}/{name}")),
            _dir: None,
        })
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.location).await.unwrap()
    }
}

static NEXT_DB: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

pub fn message(text: &str, key: &str) -> NewMessage {
    NewMessage {
        text: MessageText::parse(text.into(), 4096).unwrap(),
        client_offset: ClientOffset::parse(key.into()).unwrap(),
        author: Nickname::parse("ana").unwrap(),
        channel: ChannelId::GENERAL,
    }
}

/// Runs each named scenario against SQLite and against PostgreSQL.
macro_rules! store_suite {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Fresh::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    if let Some(fresh) = super::Fresh::postgres().await {
                        super::$scenario(fresh).await;
                    }
                }
            )*
        }
    };
}
