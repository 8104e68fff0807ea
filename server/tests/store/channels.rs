//! Channels in the store, on both databases: names unique without regard to case, members
//! and read markers, a consecutive seq per channel whoever writes, replay filtered to a
//! socket's channels, history per channel, unread and mention counts.

use chat_protocol::channels::{ChannelName, ChannelTopic};
use chat_server::domain::{ChannelId, NewMessage, Nickname, ServerOffset, Username};
use chat_server::store::{AccountId, ChannelFilter, NewChannel, Store};

use super::harness::{Fresh, WriteBatch, message};

store_suite!(
    a_channel_name_is_unique_without_regard_to_case,
    each_channel_has_its_own_consecutive_seq_in_one_global_order,
    replay_and_history_read_only_the_channels_asked_for,
    members_join_leave_and_read_markers_only_move_forward,
    unread_counts_others_messages_and_mentions_after_the_marker,
    two_accounts_have_one_direct_channel_that_only_they_are_in,
);

async fn account(store: &Store, name: &str) -> AccountId {
    store
        .create_account(&Username::parse(name).unwrap(), "$argon2id$x", 1)
        .await
        .unwrap()
}

async fn channel(store: &Store, name: &str, creator: AccountId) -> Option<ChannelId> {
    let name = ChannelName::parse(name).unwrap();
    let topic = ChannelTopic::default();
    let new = NewChannel {
        name: &name,
        private: false,
        topic: &topic,
        creator,
    };
    store.create_channel(&new, 1).await.unwrap()
}

/// `text` posted to `channel` by `author`.
fn posted(text: &str, key: &str, channel: ChannelId, author: &str) -> NewMessage {
    NewMessage {
        channel,
        author: Nickname::parse(author).unwrap(),
        ..message(text, key)
    }
}

async fn a_channel_name_is_unique_without_regard_to_case(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let dev = channel(&store, "Dev", ana).await.expect("created");
    assert!(dev > ChannelId::GENERAL);
    assert_eq!(
        channel(&store, "dev", ana).await,
        None,
        "taken in another case"
    );
    assert_eq!(
        channel(&store, "general", ana).await,
        None,
        "#general exists"
    );
    let found = store.channel(dev).await.unwrap().unwrap();
    assert_eq!(found.name, "dev");
    assert!(
        store.is_member(dev, ana).await.unwrap(),
        "its creator is in it"
    );
    assert_eq!(store.channel(ChannelId(999)).await.unwrap(), None);
}

async fn each_channel_has_its_own_consecutive_seq_in_one_global_order(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let dev = channel(&store, "dev", ana).await.unwrap();
    let ops = channel(&store, "ops", ana).await.unwrap();
    let general = ChannelId::GENERAL;
    store
        .write(
            &[
                posted("g1", "k1", general, "ana"),
                posted("d1", "k2", dev, "ana"),
                posted("d2", "k3", dev, "ana"),
                posted("d2 again", "k3", dev, "ana"),
                posted("o1", "k4", ops, "ana"),
            ],
            1,
        )
        .await
        .unwrap();
    store
        .write(
            &[
                posted("d3", "k5", dev, "ana"),
                posted("g2", "k6", general, "ana"),
            ],
            2,
        )
        .await
        .unwrap();
    let all = store
        .messages_after(ServerOffset(0), ChannelFilter::All, 100)
        .await
        .unwrap();
    let seen: Vec<(&str, i64, i64)> = all
        .iter()
        .map(|m| (m.text.as_str(), m.channel.0, m.seq))
        .collect();
    assert_eq!(
        seen,
        [
            ("g1", 1, 1),
            ("d1", dev.0, 1),
            ("d2", dev.0, 2),
            ("o1", ops.0, 1),
            ("d3", dev.0, 3),
            ("g2", 1, 2),
        ],
        "a duplicate takes no seq"
    );
    let ids: Vec<i64> = all.iter().map(|m| m.id.0).collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5, 6],
        "the global order stays consecutive"
    );
}

async fn replay_and_history_read_only_the_channels_asked_for(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let dev = channel(&store, "dev", ana).await.unwrap();
    let ops = channel(&store, "ops", ana).await.unwrap();
    let batch: Vec<NewMessage> = (0..30)
        .map(|n| {
            let to = [ChannelId::GENERAL, dev, ops][n % 3];
            posted(&format!("m{n}"), &format!("k{n}"), to, "ana")
        })
        .collect();
    store.write(&batch, 1).await.unwrap();
    let only = ChannelFilter::Only(vec![ChannelId::GENERAL, ops]);
    let replay = store
        .messages_after(ServerOffset(4), only, 100)
        .await
        .unwrap();
    assert!(replay.iter().all(|m| m.channel != dev), "no dev message");
    assert_eq!(replay.len(), 17, "general and ops after offset 4");
    assert!(replay.windows(2).all(|w| w[0].id < w[1].id));
    let page = store
        .messages_before(Some(dev), ServerOffset(31), 4)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [7, 8, 9, 10],
        "the latest four of dev, oldest first"
    );
    let older = store
        .messages_before(Some(dev), page[0].id, 100)
        .await
        .unwrap();
    assert_eq!(
        older.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
}

async fn members_join_leave_and_read_markers_only_move_forward(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let bo = account(&store, "bo-b").await;
    let dev = channel(&store, "dev", ana).await.unwrap();
    let batch: Vec<NewMessage> = (0..5)
        .map(|n| posted(&format!("d{n}"), &format!("k{n}"), dev, "ana"))
        .collect();
    store.write(&batch, 1).await.unwrap();
    assert!(!store.is_member(dev, bo).await.unwrap());
    assert!(store.add_member(dev, bo, 2).await.unwrap());
    assert!(
        !store.add_member(dev, bo, 2).await.unwrap(),
        "already a member"
    );
    let bos = store.channels_of(bo, "bo-b").await.unwrap();
    let seen = bos.iter().find(|c| c.id == dev).unwrap();
    assert_eq!(
        (seen.last_seq, seen.last_read, seen.unread),
        (5, 5, 0),
        "a new member starts with nothing unread"
    );
    assert_eq!(store.members(dev).await.unwrap(), ["ana", "bo-b"]);
    assert_eq!(store.mark_read(dev, ana, 3).await.unwrap(), Some(3));
    assert_eq!(
        store.mark_read(dev, ana, 2).await.unwrap(),
        Some(3),
        "never back"
    );
    assert_eq!(
        store.mark_read(dev, ana, 99).await.unwrap(),
        Some(5),
        "never past the end"
    );
    assert!(store.remove_member(dev, bo).await.unwrap());
    assert!(!store.remove_member(dev, bo).await.unwrap());
    assert_eq!(
        store.mark_read(dev, bo, 1).await.unwrap(),
        None,
        "not a member"
    );
    assert_eq!(
        store.channel_ids_of(bo).await.unwrap(),
        Vec::<ChannelId>::new()
    );
    store.ensure_general_member(bo, 3).await.unwrap();
    store.ensure_general_member(bo, 4).await.unwrap();
    assert_eq!(
        store.channel_ids_of(bo).await.unwrap(),
        [ChannelId::GENERAL]
    );
    let joinable = store.joinable_channels(bo).await.unwrap();
    assert_eq!(
        joinable
            .iter()
            .map(|c| (c.name.as_str(), c.members))
            .collect::<Vec<_>>(),
        [("dev", 1)]
    );
    let topic = ChannelTopic::parse("shipping").unwrap();
    store.set_topic(dev, &topic).await.unwrap();
    assert_eq!(store.channel(dev).await.unwrap().unwrap().topic, "shipping");
}

async fn unread_counts_others_messages_and_mentions_after_the_marker(fresh: Fresh) {
    let store = fresh.open().await;
    let ana = account(&store, "ana").await;
    let bo = account(&store, "Bob").await;
    let dev = channel(&store, "dev", ana).await.unwrap();
    store.add_member(dev, bo, 1).await.unwrap();
    store
        .write(
            &[
                posted("hi @bob", "k1", dev, "ana"),
                posted("plain", "k2", dev, "ana"),
                posted("mine, @Bob", "k3", dev, "Bob"),
                posted("@BOB @bob twice is once", "k4", dev, "ana"),
                posted("elsewhere @bob", "k5", ChannelId::GENERAL, "ana"),
            ],
            2,
        )
        .await
        .unwrap();
    let counts = |channels: Vec<chat_protocol::channels::ChannelInfo>| {
        let c = channels.into_iter().find(|c| c.id == dev).unwrap();
        (c.unread, c.mentions)
    };
    assert_eq!(
        counts(store.channels_of(bo, "Bob").await.unwrap()),
        (3, 2),
        "one's own message is neither unread nor a mention"
    );
    store.mark_read(dev, bo, 1).await.unwrap();
    assert_eq!(counts(store.channels_of(bo, "Bob").await.unwrap()), (2, 1));
    assert_eq!(counts(store.channels_of(ana, "ana").await.unwrap()), (1, 0));
}

async fn two_accounts_have_one_direct_channel_that_only_they_are_in(fresh: Fresh) {
    let store = fresh.open().await;
    let (ana, bo, cy) = (
        account(&store, "ana").await,
        account(&store, "Bob").await,
        account(&store, "cyd").await,
    );
    let made = store.direct_channel(ana, bo, 5).await.unwrap();
    assert!(made.created);
    let again = store.direct_channel(bo, ana, 6).await.unwrap();
    assert_eq!(
        (again.id, again.created),
        (made.id, false),
        "one per pair, either way"
    );
    let with_cy = store.direct_channel(ana, cy, 7).await.unwrap();
    assert_ne!(with_cy.id, made.id);
    let own = store.direct_channel(cy, cy, 8).await.unwrap();
    assert!(
        own.created,
        "a conversation with oneself is a channel of one"
    );

    let found = store.channel(made.id).await.unwrap().unwrap();
    assert!(found.direct && found.private);
    assert_eq!(store.members(made.id).await.unwrap(), ["ana", "Bob"]);
    assert!(!store.is_member(made.id, cy).await.unwrap());
    assert!(
        store.joinable_channels(cy).await.unwrap().is_empty(),
        "nobody else is offered it"
    );

    store
        .write(
            &[
                posted("hi bo", "d1", made.id, "ana"),
                posted("hi ana", "d2", made.id, "Bob"),
            ],
            9,
        )
        .await
        .unwrap();
    let listed = |account, username: &'static str| {
        let store = store.clone();
        async move {
            store
                .channels_of(account, username)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.id, c.direct_with, c.unread))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(ana, "ana").await,
        [
            (made.id, Some("Bob".to_owned()), 1),
            (with_cy.id, Some("cyd".to_owned()), 0),
        ],
        "named by the other account, in its order, after the channels (none here)"
    );
    assert_eq!(
        listed(bo, "Bob").await,
        [(made.id, Some("ana".to_owned()), 1)]
    );
    assert_eq!(
        listed(cy, "cyd").await,
        [
            (with_cy.id, Some("ana".to_owned()), 0),
            (own.id, Some("cyd".to_owned()), 0),
        ]
    );
    let dev = channel(&store, "dev", ana).await.unwrap();
    let ids: Vec<ChannelId> = listed(ana, "ana").await.into_iter().map(|c| c.0).collect();
    assert_eq!(
        ids,
        [dev, made.id, with_cy.id],
        "channels before conversations"
    );
}
