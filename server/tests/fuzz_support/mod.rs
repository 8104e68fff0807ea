//! What both fuzz targets share (`fuzz_frames.rs`, `fuzz_event_args.rs`): proptest's
//! configuration, the seed corpora, and the mutations applied to seeds.
//!
//! Bounded time: each property runs `PROPTEST_CASES` cases (default [`DEFAULT_CASES`]); the
//! other `PROPTEST_*` variables apply as usual. A failing case is shrunk, then its seed is
//! appended to `tests/proptest-regressions/fuzz.txt` (commit that file: its cases are
//! replayed first on every later run).

#![allow(dead_code)] // each target uses part of it

use std::fs;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::FileFailurePersistence;

use chat_server::ipc::frame::MAX_FRAME_LEN;

/// Cases per property when `PROPTEST_CASES` is not set: the whole file stays within a few
/// seconds in a debug build.
pub const DEFAULT_CASES: u32 = 1024;

const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/proptest-regressions/fuzz.txt"
);

/// proptest's defaults (which read the `PROPTEST_*` variables), with our default number of
/// cases and the regressions file under `tests/`.
pub fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    // Unless PROPTEST_DISABLE_FAILURE_PERSISTENCE turned it off. (proptest's default looks
    // for a `lib.rs` above this file, finds none, and falls back to `fuzz.proptest-regressions`
    // beside it.)
    if config.failure_persistence.is_some() {
        config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS)));
    }
    config
}

// ---------------------------------------------------------------------------------------

/// Every `*.{extension}` file of `dir`, by name.
pub fn load_corpus(dir: &str, extension: &str) -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {dir}: {e}"))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no *.{extension} seeds in {dir}");
    seeds
}

/// One way of damaging a seed; applied in sequence, each to the result of the last.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Truncate(Index),
    /// Copies `len` bytes from one place to another (repeats a field, a frame, a bracket).
    Splice(Index, usize, Index),
    /// Adds a little to the big-endian u32 at some offset: a length or count off by a few.
    AddU32(Index, i32),
    /// Overwrites the big-endian u32 at some offset: a length or count set to an extreme.
    SetU32(Index, u32),
    /// Adds a little to the frame's length prefix.
    LengthPrefix(i32),
}

/// Lengths and counts at the edges of what the decoder checks.
pub const INTERESTING_U32: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    19,
    20,
    21,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    MAX_FRAME_LEN as u32 - 1,
    MAX_FRAME_LEN as u32,
    MAX_FRAME_LEN as u32 + 1,
    0x7fff_ffff,
    0x8000_0000,
    u32::MAX,
];

pub fn arb_mutation(dictionary: &'static [&'static [u8]]) -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        vec(any::<u8>(), 1..8),
        select(dictionary).prop_map(<[u8]>::to_vec),
    ];
    let u32_value = prop_oneof![select(INTERESTING_U32), any::<u32>()];
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        (any::<Index>(), insert).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<Index>(), 1usize..8).prop_map(|(at, n)| Mutation::Remove(at, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1usize..32, any::<Index>())
            .prop_map(|(from, n, to)| Mutation::Splice(from, n, to)),
        (any::<Index>(), -4i32..=4).prop_map(|(at, delta)| Mutation::AddU32(at, delta)),
        (any::<Index>(), u32_value).prop_map(|(at, value)| Mutation::SetU32(at, value)),
        (-4i32..=4).prop_map(Mutation::LengthPrefix),
    ]
}

fn add_u32(data: &mut [u8], at: usize, delta: i32) {
    let value = u32::from_be_bytes(data[at..at + 4].try_into().unwrap());
    data[at..at + 4].copy_from_slice(&value.wrapping_add_signed(delta).to_be_bytes());
}

pub fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = data.len();
        match mutation {
            Mutation::FlipBit(at, bit) if len > 0 => data[at.index(len)] ^= 1 << *bit,
            Mutation::SetByte(at, byte) if len > 0 => data[at.index(len)] = *byte,
            Mutation::Insert(at, bytes) => {
                let at = at.index(len + 1);
                data.splice(at..at, bytes.iter().copied());
            }
            Mutation::Remove(at, n) if len > 0 => {
                let at = at.index(len);
                data.drain(at..(at + n).min(len));
            }
            Mutation::Truncate(at) => data.truncate(at.index(len + 1)),
            Mutation::Splice(from, n, to) if len > 0 => {
                let from = from.index(len);
                let chunk = data[from..(from + n).min(len)].to_vec();
                let to = to.index(len + 1);
                data.splice(to..to, chunk);
            }
            Mutation::AddU32(at, delta) if len >= 4 => {
                add_u32(&mut data, at.index(len - 3), *delta)
            }
            Mutation::SetU32(at, value) if len >= 4 => {
                let at = at.index(len - 3);
                data[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
            Mutation::LengthPrefix(delta) if len >= 4 => add_u32(&mut data, 0, *delta),
            _ => {} // nothing to damage
        }
    }
    data
}
