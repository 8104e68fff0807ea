//! The store suite's accounts and sessions: every scenario runs on SQLite and on PostgreSQL
//! through [`store_suite!`], as the message scenarios do. Times are unix milliseconds; the
//! password hashes are stand-ins (the store never looks inside them).

use std::time::Duration;

use chat_server::domain::Username;
use chat_server::store::{
    AccountError, AccountId, SessionIdHash, Store, StoreError, StoreLocation,
};

use super::harness::Fresh;

store_suite!(
    a_username_is_unique_without_regard_to_case,
    an_account_is_found_by_its_name_in_any_case_and_keeps_the_name_as_typed,
    two_sign_ups_with_the_same_name_at_once_create_one_account,
    a_session_is_found_until_it_expires,
    a_session_idles_out_unless_it_is_used,
    a_password_change_ends_every_session_of_the_account_and_no_other_accounts,
    signing_out_deletes_only_that_session,
    signing_out_everywhere_deletes_the_accounts_sessions_only,
    unknown_accounts_and_sessions_are_harmless_to_look_up_and_delete,
    deleting_an_account_deletes_its_sessions,
    accounts_and_sessions_survive_reopening_and_a_read_only_store_refuses_their_writes,
    the_sweep_deletes_expired_and_idle_sessions_only,
);

/// A long idle timeout, for scenarios about something else.
const NEVER_IDLE: Duration = Duration::from_secs(3600);

fn name(name: &str) -> Username {
    Username::parse(name).unwrap()
}

/// A stand-in for the SHA-256 of a session id.
fn session_hash(n: u8) -> SessionIdHash {
    [n; 32]
}

async fn account(store: &Store, username: &str) -> AccountId {
    store
        .create_account(&name(username), &format!("hash of {username}"), 1)
        .await
        .unwrap()
}

async fn signed_in(store: &Store, id_hash: SessionIdHash, now: i64) -> Option<AccountId> {
    store
        .session(id_hash, now, NEVER_IDLE)
        .await
        .unwrap()
        .map(|session| session.account_id)
}

async fn a_username_is_unique_without_regard_to_case(fresh: Fresh) {
    let store = fresh.open().await;
    let vic = account(&store, "Vic").await;
    for taken in ["Vic", "vic", "VIC", "vIc"] {
        let refused = store.create_account(&name(taken), "other hash", 2).await;
        assert!(
            matches!(refused, Err(AccountError::UsernameTaken)),
            "{taken}: {refused:?}"
        );
    }
    // No row was written: the account is still the first one, with its own hash.
    let found = store
        .account_by_username(&name("vic").key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, vic);
    assert_eq!(found.password_hash, "hash of Vic");
    let other = account(&store, "Vic2").await;
    assert_ne!(other, vic);
}

async fn an_account_is_found_by_its_name_in_any_case_and_keeps_the_name_as_typed(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "Ana.B").await;
    account(&store, "bob").await;
    let found = store
        .account_by_username(&name("aNA.b").key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.id,
            found.username.as_str(),
            found.password_hash.as_str()
        ),
        (ana, "Ana.B", "hash of Ana.B")
    );
    assert!(
        store
            .account_by_username(&name("cyd").key())
            .await
            .unwrap()
            .is_none()
    );
}

/// Two hosts (two stores on one database) signing up the same name in different case at
/// the same moment: one account, the other gets `UsernameTaken`.
async fn two_sign_ups_with_the_same_name_at_once_create_one_account(fresh: Fresh) {
    let (a, b) = (fresh.open().await, fresh.open().await);
    for round in 0..10 {
        let lower = name(&format!("user{round}"));
        let upper = name(&format!("USER{round}"));
        let (from_a, from_b) = tokio::join!(
            a.create_account(&lower, "a", 1),
            b.create_account(&upper, "b", 1)
        );
        let taken = [&from_a, &from_b]
            .iter()
            .filter(|r| matches!(r, Err(AccountError::UsernameTaken)))
            .count();
        assert_eq!(taken, 1, "round {round}: {from_a:?} {from_b:?}");
        assert!(from_a.is_ok() || from_b.is_ok());
    }
}

async fn a_session_is_found_until_it_expires(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    store
        .create_session(session_hash(1), ana, 100, 1_000)
        .await
        .unwrap();
    let session = store
        .session(session_hash(1), 500, NEVER_IDLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            session.account_id,
            session.username.as_str(),
            session.expires_at
        ),
        (ana, "ana", 1_000)
    );
    assert_eq!(signed_in(&store, session_hash(1), 999).await, Some(ana));
    assert_eq!(
        signed_in(&store, session_hash(1), 1_000).await,
        None,
        "expired"
    );
    // Refused once, deleted: not found even at a time it would have been good.
    assert_eq!(signed_in(&store, session_hash(1), 999).await, None);
    assert!(!store.delete_session(session_hash(1)).await.unwrap());
}

async fn a_session_idles_out_unless_it_is_used(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let idle = Duration::from_millis(100);
    store
        .create_session(session_hash(1), ana, 0, 1_000_000)
        .await
        .unwrap();
    let at = |now| store.session(session_hash(1), now, idle);
    // Each use counts from the last one: 90 (90 after creation), 180 (90 after that).
    assert!(at(90).await.unwrap().is_some());
    assert!(at(180).await.unwrap().is_some());
    // Unused for 100 ms: idle, and deleted.
    assert!(at(280).await.unwrap().is_none());
    assert!(at(200).await.unwrap().is_none());
}

async fn a_password_change_ends_every_session_of_the_account_and_no_other_accounts(fresh: Fresh) {
    let store = fresh.open().await;
    let (ana, bob) = (account(&store, "ana").await, account(&store, "bob").await);
    for (n, owner) in [(1, ana), (2, ana), (3, bob)] {
        store
            .create_session(session_hash(n), owner, 1, 10_000)
            .await
            .unwrap();
    }
    assert_eq!(store.set_password(ana, "new hash", 5).await.unwrap(), 2);
    assert_eq!(signed_in(&store, session_hash(1), 6).await, None);
    assert_eq!(signed_in(&store, session_hash(2), 6).await, None);
    assert_eq!(signed_in(&store, session_hash(3), 6).await, Some(bob));
    let found = store.account_by_username(&name("ana").key()).await.unwrap();
    assert_eq!(found.unwrap().password_hash, "new hash");
    let bob_found = store.account_by_username(&name("bob").key()).await.unwrap();
    assert_eq!(bob_found.unwrap().password_hash, "hash of bob");
    // With no session left, a second change ends none.
    assert_eq!(store.set_password(ana, "newer hash", 7).await.unwrap(), 0);
}

async fn signing_out_deletes_only_that_session(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    for n in [1, 2] {
        store
            .create_session(session_hash(n), ana, 1, 10_000)
            .await
            .unwrap();
    }
    assert!(store.delete_session(session_hash(1)).await.unwrap());
    assert_eq!(signed_in(&store, session_hash(1), 2).await, None);
    assert_eq!(signed_in(&store, session_hash(2), 2).await, Some(ana));
    assert!(
        !store.delete_session(session_hash(1)).await.unwrap(),
        "gone"
    );
}

async fn signing_out_everywhere_deletes_the_accounts_sessions_only(fresh: Fresh) {
    let store = fresh.open().await;
    let (ana, bob) = (account(&store, "ana").await, account(&store, "bob").await);
    for (n, owner) in [(1, ana), (2, ana), (3, bob)] {
        store
            .create_session(session_hash(n), owner, 1, 10_000)
            .await
            .unwrap();
    }
    assert_eq!(store.delete_sessions_of(ana).await.unwrap(), 2);
    assert_eq!(signed_in(&store, session_hash(1), 2).await, None);
    assert_eq!(signed_in(&store, session_hash(2), 2).await, None);
    assert_eq!(signed_in(&store, session_hash(3), 2).await, Some(bob));
    assert_eq!(store.delete_sessions_of(ana).await.unwrap(), 0);
}

async fn unknown_accounts_and_sessions_are_harmless_to_look_up_and_delete(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    store
        .create_session(session_hash(1), ana, 1, 10_000)
        .await
        .unwrap();
    let nobody = AccountId(ana.0 + 1000);
    assert_eq!(signed_in(&store, session_hash(9), 2).await, None);
    assert!(!store.delete_session(session_hash(9)).await.unwrap());
    assert_eq!(store.delete_sessions_of(nobody).await.unwrap(), 0);
    assert!(matches!(
        store.set_password(nobody, "hash", 2).await,
        Err(AccountError::UnknownAccount)
    ));
    assert!(matches!(
        store
            .create_session(session_hash(2), nobody, 2, 10_000)
            .await,
        Err(AccountError::UnknownAccount)
    ));
    assert_eq!(
        signed_in(&store, session_hash(2), 3).await,
        None,
        "not stored"
    );
    // Nothing of the above touched the real account or its session.
    assert_eq!(signed_in(&store, session_hash(1), 3).await, Some(ana));
    let found = store.account_by_username(&name("ana").key()).await.unwrap();
    assert_eq!(found.unwrap().password_hash, "hash of ana");
}

/// There is no store operation to delete an account yet; the schema's `ON DELETE CASCADE`
/// is checked with a plain `DELETE` (on SQLite, with foreign keys on, as the store's own
/// connections have them).
async fn deleting_an_account_deletes_its_sessions(fresh: Fresh) {
    let store = fresh.open().await;
    let (ana, bob) = (account(&store, "ana").await, account(&store, "bob").await);
    for (n, owner) in [(1, ana), (2, ana), (3, bob)] {
        store
            .create_session(session_hash(n), owner, 1, 10_000)
            .await
            .unwrap();
    }
    match &fresh.location {
        StoreLocation::Sqlite(path) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            connection
                .pragma_update(None, "foreign_keys", "ON")
                .unwrap();
            connection
                .execute("DELETE FROM accounts WHERE id = ?1", [ana.0])
                .unwrap();
        }
        StoreLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query("DELETE FROM accounts WHERE id = $1")
                .bind(ana.0)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
    assert_eq!(signed_in(&store, session_hash(1), 2).await, None);
    assert_eq!(signed_in(&store, session_hash(2), 2).await, None);
    assert_eq!(store.delete_sessions_of(ana).await.unwrap(), 0, "none left");
    assert_eq!(signed_in(&store, session_hash(3), 2).await, Some(bob));
}

async fn accounts_and_sessions_survive_reopening_and_a_read_only_store_refuses_their_writes(
    fresh: Fresh,
) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    store
        .create_session(session_hash(1), ana, 1, 10_000)
        .await
        .unwrap();
    store.close().await;
    let store = fresh.open().await;
    assert_eq!(signed_in(&store, session_hash(1), 2).await, Some(ana));
    let reader = Store::open_read_only(&fresh.location).await.unwrap();
    let found = reader
        .account_by_username(&name("ana").key())
        .await
        .unwrap();
    assert_eq!(found.map(|a| a.id), Some(ana));
    assert!(matches!(
        reader.create_account(&name("bob"), "hash", 3).await,
        Err(AccountError::Store(StoreError::ReadOnly))
    ));
    assert!(matches!(
        reader.session(session_hash(1), 3, NEVER_IDLE).await,
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(
        reader.delete_session(session_hash(1)).await,
        Err(StoreError::ReadOnly)
    ));
    assert_eq!(signed_in(&store, session_hash(1), 4).await, Some(ana));
}

async fn the_sweep_deletes_expired_and_idle_sessions_only(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let idle = Duration::from_millis(1_000);
    // 1 expires at 500; 2 was last seen at 0 (idle from 1,000); 3 is used at 1,500.
    for (n, expires_at) in [(1, 500), (2, 100_000), (3, 100_000)] {
        store
            .create_session(session_hash(n), ana, 0, expires_at)
            .await
            .unwrap();
    }
    assert!(
        store
            .session(session_hash(3), 900, idle)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.delete_stale_sessions(1_500, idle).await.unwrap(), 2);
    assert!(
        store
            .session(session_hash(3), 1_500, idle)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.delete_stale_sessions(1_500, idle).await.unwrap(), 0);
}
