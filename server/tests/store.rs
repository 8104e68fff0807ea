//! The store suite: every behaviour the server relies on from its message store, run against
//! both implementations — SQLite (a file in a temporary directory) and PostgreSQL (a fresh
//! database on the server named by `CHAT_TEST_POSTGRES_URL`; `scripts/test.sh` starts one
//! with `scripts/postgres.sh`). Without that variable the PostgreSQL half fails and says how
//! to provide one, unless `CHAT_TEST_SKIP_POSTGRES=1`. Messages are here; accounts and
//! sessions in `store/accounts.rs`.

use chat_server::domain::{NewMessage, Nickname, ServerOffset};
use chat_server::store::{ChannelFilter, Store, StoreLocation, WriteOutcome};

#[path = "store/harness.rs"]
#[macro_use]
mod harness;

use harness::{Fresh, WriteBatch, message};

/// Accounts and sessions, through the same macro (`accounts::sqlite::…`, `accounts::postgres::…`).
#[path = "store/accounts.rs"]
mod accounts;

/// Channels, members, read markers and per-channel sequences.
#[path = "store/channels.rs"]
mod channels;

/// Rows written before a migration, read after it.
#[path = "store/legacy.rs"]
mod legacy;

store_suite!(
    an_empty_store_starts_at_zero,
    inserts_in_order_with_consecutive_ids,
    a_resent_client_offset_is_stored_once,
    resends_among_new_messages_keep_their_ids_and_consume_none,
    a_batch_larger_than_one_statement_keeps_order_and_dedupes_across_chunks,
    replay_resumes_after_the_given_offset_in_id_order,
    history_pages_back_before_an_offset,
    text_and_author_are_stored_verbatim,
    reopening_keeps_messages_and_ids_keep_growing,
    concurrent_writers_get_consecutive_ids_and_store_each_message_once,
);

async fn an_empty_store_starts_at_zero(fresh: Fresh) {
    let store = fresh.open().await;
    assert_eq!(store.last_offset().await.unwrap(), ServerOffset(0));
    assert!(
        store
            .messages_after(ServerOffset(0), ChannelFilter::All, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn inserts_in_order_with_consecutive_ids(fresh: Fresh) {
    let store = fresh.open().await;
    let out = store
        .write(&[message("a", "k1"), message("b", "k2")], 1)
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            WriteOutcome::Inserted(ServerOffset(1)),
            WriteOutcome::Inserted(ServerOffset(2))
        ]
    );
    let out = store.write(&[message("c", "k3")], 2).await.unwrap();
    assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(3))]);
}

async fn a_resent_client_offset_is_stored_once(fresh: Fresh) {
    let store = fresh.open().await;
    store.write(&[message("a", "k1")], 1).await.unwrap();
    let out = store
        .write(
            &[
                message("a again", "k1"),
                message("b", "k2"),
                message("b", "k2"),
            ],
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            WriteOutcome::Duplicate(ServerOffset(1)),
            WriteOutcome::Inserted(ServerOffset(2)),
            WriteOutcome::Duplicate(ServerOffset(2)),
        ]
    );
    let all = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    // A duplicate never consumes an id.
    let out = store.write(&[message("c", "k3")], 3).await.unwrap();
    assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(3))]);
}

async fn resends_among_new_messages_keep_their_ids_and_consume_none(fresh: Fresh) {
    // Distinct client offsets, two of them stored before: the SQLite store's one-trip path.
    let store = fresh.open().await;
    store
        .write(&[message("a", "k1"), message("b", "k2")], 1)
        .await
        .unwrap();
    let out = store
        .write(
            &[
                message("c", "k3"),
                message("b again", "k2"),
                message("d", "k4"),
                message("a again", "k1"),
            ],
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            WriteOutcome::Inserted(ServerOffset(3)),
            WriteOutcome::Duplicate(ServerOffset(2)),
            WriteOutcome::Inserted(ServerOffset(4)),
            WriteOutcome::Duplicate(ServerOffset(1)),
        ]
    );
    let out = store.write(&[message("e", "k5")], 3).await.unwrap();
    assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(5))]);
    let all = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
}

async fn a_batch_larger_than_one_statement_keeps_order_and_dedupes_across_chunks(fresh: Fresh) {
    let store = fresh.open().await;
    // 1200 messages; every 100th repeats the key of the message 600 before it, so some
    // repeats land in a later statement chunk than their original.
    let batch: Vec<_> = (0..1200)
        .map(|i| {
            let key = if i >= 600 && i % 100 == 0 { i - 600 } else { i };
            message(&format!("m{i}"), &format!("k{key}"))
        })
        .collect();
    let out = store.write(&batch, 1).await.unwrap();
    let mut next = 1;
    for (i, outcome) in out.iter().enumerate() {
        if i >= 600 && i % 100 == 0 {
            assert_eq!(
                *outcome,
                WriteOutcome::Duplicate(out[i - 600].id()),
                "row {i}"
            );
        } else {
            assert_eq!(
                *outcome,
                WriteOutcome::Inserted(ServerOffset(next)),
                "row {i}"
            );
            next += 1;
        }
    }
    let all = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 2000)
        .await
        .unwrap();
    assert_eq!(all.len(), 1194);
    assert!(all.windows(2).all(|w| w[1].id.0 == w[0].id.0 + 1));
}

async fn replay_resumes_after_the_given_offset_in_id_order(fresh: Fresh) {
    let store = fresh.open().await;
    let batch: Vec<_> = (0..10)
        .map(|i| message(&format!("m{i}"), &format!("k{i}")))
        .collect();
    store.write(&batch, 7).await.unwrap();
    let page = store
        .messages_after(ServerOffset(4), ChannelFilter::All, 3)
        .await
        .unwrap();
    assert_eq!(
        page.iter()
            .map(|m| (m.id.0, m.text.as_str(), m.created_at))
            .collect::<Vec<_>>(),
        [(5, "m4", 7), (6, "m5", 7), (7, "m6", 7)]
    );
    assert!(
        store
            .messages_after(ServerOffset(10), ChannelFilter::All, 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.last_offset().await.unwrap(), ServerOffset(10));
}

async fn history_pages_back_before_an_offset(fresh: Fresh) {
    let store = fresh.open().await;
    let batch: Vec<_> = (1..=10)
        .map(|i| message(&format!("m{i}"), &format!("k{i}")))
        .collect();
    store.write(&batch, 1).await.unwrap();
    let page = store
        .messages_before(None, ServerOffset(8), 3)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|m| m.id.0).collect::<Vec<_>>(), [5, 6, 7]);
    let first = store
        .messages_before(None, ServerOffset(3), 10)
        .await
        .unwrap();
    assert_eq!(first.iter().map(|m| m.id.0).collect::<Vec<_>>(), [1, 2]);
    assert!(
        store
            .messages_before(None, ServerOffset(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn text_and_author_are_stored_verbatim(fresh: Fresh) {
    let store = fresh.open().await;
    let html = "<img src=x onerror=alert(1)> 'quotes' \"and\" ünïcode 🎉 \\ %_";
    let by_bo = NewMessage {
        author: Nickname::parse("bö 🐝").unwrap(),
        ..message(html, "k")
    };
    store.write(&[by_bo], 1).await.unwrap();
    let all = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 10)
        .await
        .unwrap();
    assert_eq!(all[0].text, html);
    assert_eq!(all[0].author, "bö 🐝");
}

async fn reopening_keeps_messages_and_ids_keep_growing(fresh: Fresh) {
    let store = fresh.open().await;
    store.write(&[message("a", "k1")], 1).await.unwrap();
    store.close().await;
    let store = fresh.open().await;
    let out = store.write(&[message("b", "k2")], 2).await.unwrap();
    assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(2))]);
    let reader = Store::open_read_only(&fresh.location).await.unwrap();
    assert_eq!(reader.last_offset().await.unwrap(), ServerOffset(2));
    assert!(reader.write(&[message("c", "k3")], 3).await.is_err());
}

/// Two writers on one store (two primaries, i.e. two hosts) committing at once: ids are
/// consecutive, each message is stored once, and a message resent to the other writer is a
/// duplicate.
async fn concurrent_writers_get_consecutive_ids_and_store_each_message_once(fresh: Fresh) {
    let a = fresh.open().await;
    let b = fresh.open().await;
    let write = |store: Store, prefix: &'static str| async move {
        let mut ids = Vec::new();
        for batch in 0..20 {
            let messages: Vec<_> = (0..10)
                .map(|i| {
                    message(
                        &format!("{prefix}{batch}-{i}"),
                        &format!("{prefix}{batch}-{i}"),
                    )
                })
                .collect();
            for outcome in store.write(&messages, batch).await.unwrap() {
                ids.push(outcome);
            }
        }
        ids
    };
    let (from_a, from_b) = tokio::join!(write(a.clone(), "a"), write(b.clone(), "b"));
    assert!(
        from_a
            .iter()
            .chain(&from_b)
            .all(|o| matches!(o, WriteOutcome::Inserted(_)))
    );
    let mut ids: Vec<i64> = from_a.iter().chain(&from_b).map(|o| o.id().0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=400).collect::<Vec<_>>());
    let again = b.write(&[message("a0-0", "a0-0")], 99).await.unwrap();
    assert_eq!(again, [WriteOutcome::Duplicate(from_a[0].id())]);
    let all = a
        .messages_after(ServerOffset(0), ChannelFilter::All, 1000)
        .await
        .unwrap();
    assert_eq!(all.len(), 400);
}

/// SQLite only (the fault is an SQLite trigger): the writer thread rolls back a batch that
/// failed part-way, so none of it is stored and the next batch commits with the ids it
/// would have had.
#[tokio::test]
async fn sqlite_a_batch_that_fails_midway_stores_nothing_and_the_next_one_commits() {
    let fresh = Fresh::sqlite().await;
    let store = fresh.open().await;
    let StoreLocation::Sqlite(path) = &fresh.location else {
        unreachable!("an SQLite location")
    };
    // A fault in the middle of a batch, after its first row went in.
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.content = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let batch = [
        message("a", "k1"),
        message("boom", "k2"),
        message("b", "k3"),
    ];
    assert!(store.write(&batch, 1).await.is_err());
    assert!(
        store
            .messages_after(ServerOffset(0), ChannelFilter::All, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let out = store
        .write(&[message("a", "k1"), message("b", "k3")], 2)
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            WriteOutcome::Inserted(ServerOffset(1)),
            WriteOutcome::Inserted(ServerOffset(2))
        ],
        "the failed batch consumed no ids"
    );
}
