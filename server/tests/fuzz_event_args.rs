//! Fuzzing, as property tests, of event-argument validation ([`EventArgs`] from JSON text,
//! [`NewMessage::from_event_args`], the connect auth's `serverOffset`), where text from
//! browsers is decoded: fed arbitrary text, generated JSON values, and the seeds of
//! `tests/corpus/event_args/*.json` mutated. It must never panic, must accept exactly what
//! the protocol's rules accept (checked against the rules written out here, and by
//! well-formed arguments that must be accepted), and must refuse the rest with the error
//! the first broken rule names.
//!
//! Corpus: `tests/corpus/event_args` is written by hand: an `ok-*.json` file must
//! deserialize and validate (with the default size limit), an `err-*.json` file must be
//! refused by one or the other. Time bounds and regressions: see `fuzz_support`.

mod fuzz_support;

use std::sync::LazyLock;

use chat_protocol::auth::ConnectAuth;
use chat_server::chat::args::EventArgs;
use chat_server::domain::{ClientOffset, MessageText, NewMessage, ServerOffset, ValidationError};
use fuzz_support::{arb_mutation, config, load_corpus, mutate};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};

const EVENT_ARGS_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/event_args");

static EVENT_ARGS_SEEDS: LazyLock<Vec<(String, Vec<u8>)>> =
    LazyLock::new(|| load_corpus(EVENT_ARGS_CORPUS, "json"));

/// The offset the server reads from a connect `auth` (parsed once, as at connect; the
/// parse refuses nothing).
fn offset_from_auth(auth: &Value) -> ServerOffset {
    ConnectAuth::parse(Some(auth)).server_offset
}

/// Bits of JSON worth inserting into JSON text.
const JSON_TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"\\",
    b"null",
    b"true",
    b"-0",
    b"0.5",
    b"1e999",
    b"-1e-999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1.",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00",
    b"\\ud83d\\ude00",
    b"\\x",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\"serverOffset\":",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"\"\xe2\x80\xae\"",
];

// ---------------------------------------------------------------------------------------
// Event arguments

/// Whitespace as `str::trim` sees it (Unicode White_Space), a sample.
const WHITESPACE: &[char] = &[
    ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2003}',
    '\u{2028}', '\u{3000}',
];

/// Invisible or space-like, but not whitespace: a text of these is not blank.
const NOT_WHITESPACE: &[char] = &['\u{0}', '\u{180e}', '\u{200b}', '\u{202e}', '\u{feff}'];

/// Repeated to make long texts and offsets, 1 to 4 bytes a character.
const UNITS: &[&str] = &["x", "k", "é", "€", "😀"];

fn arb_string() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => any::<char>(),
        3 => proptest::char::range(' ', '~'),
        2 => select(WHITESPACE),
        1 => select(NOT_WHITESPACE),
    ];
    prop_oneof![
        4 => vec(ch, 0..24).prop_map(String::from_iter),
        1 => vec(select(WHITESPACE), 0..6).prop_map(String::from_iter),
        1 => (select(UNITS), 0usize..1500).prop_map(|(unit, n)| unit.repeat(n)),
        1 => (select(UNITS), 126usize..=130).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

/// Any JSON value. Floats are short dyadic fractions, which print and parse back exactly.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i16>().prop_map(|n| Value::from(f64::from(n) / 256.0)),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((arb_string(), inner), 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Event arguments: anything, or two strings, as a `chat message` should carry.
fn arb_args() -> impl Strategy<Value = Vec<Value>> {
    prop_oneof![
        vec(arb_json(), 0..5),
        (arb_string(), arb_string()).prop_map(|(a, b)| vec![a.into(), b.into()]),
        (arb_json(), arb_json()).prop_map(|(a, b)| vec![a, b]),
    ]
}

fn arb_max_bytes() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(MessageText::DEFAULT_MAX_BYTES),
        0usize..64,
        0usize..8192,
        Just(usize::MAX),
    ]
}

/// Text with at least one character that is not whitespace.
fn arb_non_blank() -> impl Strategy<Value = String> {
    let solid = prop_oneof![
        any::<char>().prop_filter("not whitespace", |c| !c.is_whitespace()),
        select(NOT_WHITESPACE),
    ];
    (arb_string(), solid, arb_string()).prop_map(|(a, c, b)| format!("{a}{c}{b}"))
}

/// A client offset as the rules accept it: 1 to 128 characters.
fn arb_client_offset() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{20}-[0-9]{1,6}",
        vec(any::<char>(), 1..=ClientOffset::MAX_CHARS).prop_map(String::from_iter),
        (select(UNITS), 1..=ClientOffset::MAX_CHARS).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The rules of `domain.rs`, written out: exactly two arguments; the text a string of at
/// most `max_bytes` UTF-8 bytes, not only whitespace, kept as sent; the client offset a
/// string of 1 to 128 characters. The first rule broken names the error.
fn rules(args: &[Value], max_bytes: usize) -> Result<(String, String), ValidationError> {
    let [text, client_offset] = args else {
        return Err(ValidationError::ArgumentCount(args.len()));
    };
    let Value::String(text) = text else {
        return Err(ValidationError::TextNotString(type_name(text)));
    };
    if text.len() > max_bytes {
        return Err(ValidationError::TextTooLong {
            len: text.len(),
            max: max_bytes,
        });
    }
    if text.chars().all(char::is_whitespace) {
        return Err(ValidationError::EmptyText);
    }
    let Value::String(client_offset) = client_offset else {
        return Err(ValidationError::ClientOffsetNotString(type_name(
            client_offset,
        )));
    };
    match client_offset.chars().count() {
        0 => Err(ValidationError::EmptyClientOffset),
        n if n > ClientOffset::MAX_CHARS => Err(ValidationError::ClientOffsetTooLong(n)),
        _ => Ok((text.clone(), client_offset.clone())),
    }
}

fn check_validation(args: Vec<Value>, max_bytes: usize) -> Result<(), TestCaseError> {
    let expected = rules(&args, max_bytes);
    match (NewMessage::from_event_args(args, max_bytes), expected) {
        (Ok(message), Ok((text, client_offset))) => {
            let got = message.text.as_str();
            prop_assert!(got.len() <= max_bytes, "{} bytes > {max_bytes}", got.len());
            prop_assert!(!got.trim().is_empty());
            prop_assert_eq!(got, text.as_str());
            let key = message.client_offset.as_str();
            prop_assert!((1..=ClientOffset::MAX_CHARS).contains(&key.chars().count()));
            prop_assert_eq!(key, client_offset.as_str());
        }
        (Err(error), Err(expected)) => {
            prop_assert_eq!(&error, &expected);
            prop_assert!(!error.to_string().is_empty());
        }
        (got, expected) => {
            let message = format!("got {got:?}, the rules say {expected:?}");
            return Err(TestCaseError::fail(message));
        }
    }
    Ok(())
}

/// `auth.serverOffset` as the docs of `from_auth` say: a non-negative integer, or a string
/// of one (surrounding whitespace ignored); anything else, or nothing, is 0.
fn expected_offset(auth: &Value) -> i64 {
    let offset = match auth.as_object().and_then(|auth| auth.get("serverOffset")) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    offset.filter(|n| *n >= 0).unwrap_or(0)
}

fn check_from_auth(auth: &Value) -> Result<(), TestCaseError> {
    let ServerOffset(offset) = offset_from_auth(auth);
    prop_assert!(offset >= 0);
    prop_assert_eq!(offset, expected_offset(auth));
    Ok(())
}

/// JSON text as it arrives: deserializing [`EventArgs`] succeeds exactly when the text is a
/// JSON array, yielding its elements, which then validate by the rules. Any JSON value read
/// as an auth payload gives a non-negative offset.
fn check_json_text(text: &str) -> Result<(), TestCaseError> {
    let args = serde_json::from_str::<EventArgs>(text);
    let value = serde_json::from_str::<Value>(text);
    match (&args, &value) {
        (Ok(EventArgs(args)), Ok(Value::Array(elements))) => prop_assert_eq!(args, elements),
        (Err(_), Ok(Value::Array(_))) | (Ok(_), _) => {
            let message = format!("EventArgs: {args:?}, Value: {value:?}");
            return Err(TestCaseError::fail(message));
        }
        (Err(_), _) => {}
    }
    if let Ok(EventArgs(args)) = args {
        check_validation(args, MessageText::DEFAULT_MAX_BYTES)?;
    }
    if let Ok(value) = value {
        check_from_auth(&value)?;
    }
    Ok(())
}

/// Text that is mostly not JSON, JSON's alphabet at random, and serialized values damaged.
fn arb_json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"[\[\]{}",:0-9a-zA-Z\\ .+-]{0,40}"#,
        arb_json().prop_map(|value| value.to_string()),
        (vec(arb_json(), 0..4), vec(arb_mutation(JSON_TOKENS), 0..4)).prop_map(
            |(args, mutations)| {
                let text = serde_json::to_vec(&args).unwrap();
                String::from_utf8_lossy(&mutate(text, &mutations)).into_owned()
            }
        ),
    ]
}

/// An auth payload: anything, or an object whose `serverOffset` is a number, a numeric
/// string, or anything.
fn arb_auth() -> impl Strategy<Value = Value> {
    let offset = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i16>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
        (
            vec(select(WHITESPACE), 0..3),
            any::<i64>(),
            vec(select(WHITESPACE), 0..3)
        )
            .prop_map(|(l, n, r)| Value::String(format!(
                "{}{n}{}",
                String::from_iter(l),
                String::from_iter(r)
            ))),
        "[+-]?[0-9]{0,20}".prop_map(Value::String),
        arb_json(),
    ];
    prop_oneof![
        arb_json(),
        (offset, vec((arb_string(), arb_json()), 0..3)).prop_map(|(offset, others)| {
            let mut auth: serde_json::Map<String, Value> = others.into_iter().collect();
            auth.insert("serverOffset".into(), offset);
            Value::Object(auth)
        }),
    ]
}

#[test]
fn event_args_corpus_replays() {
    let (mut ok, mut err) = (0, 0);
    for (name, bytes) in EVENT_ARGS_SEEDS.iter() {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_json_text(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let outcome = serde_json::from_str::<EventArgs>(text)
            .map_err(|e| e.to_string())
            .and_then(|EventArgs(args)| {
                NewMessage::from_event_args(args, MessageText::DEFAULT_MAX_BYTES)
                    .map_err(|e| e.to_string())
            });
        if name.starts_with("ok-") {
            assert!(outcome.is_ok(), "{name} must be accepted: {outcome:?}");
            ok += 1;
        } else {
            assert!(name.starts_with("err-"), "{name}: name it ok-* or err-*");
            assert!(outcome.is_err(), "{name} must be refused: {outcome:?}");
            err += 1;
        }
    }
    assert!(ok > 0 && err > 0);
}

proptest! {
    #![proptest_config(config())]

    /// Any arguments: accepted exactly by the rules, else refused with the first broken one.
    #[test]
    fn event_args_follow_the_rules(args in arb_args(), max_bytes in arb_max_bytes()) {
        check_validation(args, max_bytes)?;
    }

    /// Well-formed arguments are accepted as sent, up to a limit of exactly their size, and
    /// refused one byte below it; the same after a trip through JSON text.
    #[test]
    fn well_formed_event_args_are_accepted(
        text in arb_non_blank(),
        client_offset in arb_client_offset(),
        slack in 0usize..4,
    ) {
        let args = vec![Value::from(text.as_str()), Value::from(client_offset.as_str())];
        let message = NewMessage::from_event_args(args.clone(), text.len() + slack);
        prop_assert!(message.is_ok(), "{message:?}");
        let message = message.unwrap();
        prop_assert_eq!(message.text.as_str(), text.as_str());
        prop_assert_eq!(message.client_offset.as_str(), client_offset.as_str());
        prop_assert_eq!(
            NewMessage::from_event_args(args.clone(), text.len() - 1),
            Err(ValidationError::TextTooLong { len: text.len(), max: text.len() - 1 })
        );
        let json = serde_json::to_string(&args).unwrap();
        let EventArgs(decoded) = serde_json::from_str::<EventArgs>(&json)
            .map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
        prop_assert_eq!(
            NewMessage::from_event_args(decoded, text.len()).map(|m| m.text.into_inner()),
            Ok(text)
        );
    }

    /// Arbitrary text as event arguments and as an auth payload.
    #[test]
    fn event_args_from_arbitrary_text(text in arb_json_text()) {
        check_json_text(&text)?;
    }

    /// Any list of JSON values, as text (compact or pretty) or as a value, deserializes to
    /// itself.
    #[test]
    fn event_args_round_trip_through_json(args in vec(arb_json(), 0..5), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&args)
        } else {
            serde_json::to_string(&args)
        }
        .unwrap();
        prop_assert_eq!(
            serde_json::from_str::<EventArgs>(&text).map_err(|e| e.to_string()),
            Ok(EventArgs(args.clone()))
        );
        let value = Value::Array(args.clone());
        prop_assert_eq!(
            serde_json::from_value::<EventArgs>(value).map_err(|e| e.to_string()),
            Ok(EventArgs(args))
        );
        check_json_text(&text)?;
    }

    /// The seed arguments, damaged.
    #[test]
    fn mutated_corpus_event_args(
        seed in any::<Index>(),
        mutations in vec(arb_mutation(JSON_TOKENS), 1..6),
    ) {
        let bytes = mutate(seed.get(&EVENT_ARGS_SEEDS).1.clone(), &mutations);
        check_json_text(&String::from_utf8_lossy(&bytes))?;
    }

    /// Any auth payload gives a non-negative offset, by the documented rules.
    #[test]
    fn server_offset_from_any_auth(auth in arb_auth()) {
        check_from_auth(&auth)?;
    }

    /// A non-negative offset is read as a number or as a padded numeric string; a negative,
    /// out-of-range or fractional one means "from the beginning".
    #[test]
    fn server_offsets_are_read(n in 0..=i64::MAX, pad in vec(select(WHITESPACE), 0..3)) {
        let pad = String::from_iter(pad);
        let read = |offset: Value| offset_from_auth(&json!({ "serverOffset": offset })).0;
        prop_assert_eq!(read(json!(n)), n);
        prop_assert_eq!(read(json!(format!("{pad}{n}{pad}"))), n);
        prop_assert_eq!(read(json!(-n - 1)), 0);
        prop_assert_eq!(read(json!(format!("{pad}{}", -n - 1))), 0);
        prop_assert_eq!(read(json!(n as u64 + (1 << 63))), 0);
        prop_assert_eq!(read(json!((n % 1_000_000) as f64 + 0.5)), 0);
    }
}
