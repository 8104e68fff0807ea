//! Ways of damaging a seed: bit flips, insertions (of bytes that matter to the decoder),
//! removals, truncations, splices, and length fields off by a little or set to extremes.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use socketioxide_cluster::MAX_FRAME_LEN;

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
const INTERESTING_U32: &[u32] = &[
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

/// Byte strings worth inserting into a frame: tags, lengths, broken UTF-8.
const FRAME_TOKENS: &[&[u8]] = &[
    b"\x00",
    b"\x01",
    b"\x08",
    b"\x09",
    b"\x0a",
    b"\xff",
    b"\x00\x00\x00\x00",
    b"\x00\x00\x00\x14",
    b"\x01\x00\x00\x00",
    b"\x01\x00\x00\x01",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
    b"\xff\xfe",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
];

pub fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        vec(any::<u8>(), 1..8),
        select(FRAME_TOKENS).prop_map(<[u8]>::to_vec),
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
    let value = u32::from_be_bytes(data[at..at + 4].try_into().expect("four bytes"));
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
