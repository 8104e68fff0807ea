//! [`EventArgs`]: every argument of an incoming event, whatever their number and types.
//!
//! socketioxide hands a handler only the first argument unless the requested type
//! deserializes as a tuple; this type does, with any length, so validation (in
//! [`crate::domain`]) sees exactly what the client sent and can name what is wrong.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

/// The arguments of one event, in order (the ack callback is not one of them).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EventArgs(pub Vec<Value>);

impl<'de> Deserialize<'de> for EventArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = EventArgs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of event arguments")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<EventArgs, S::Error> {
                let mut args = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(16));
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(EventArgs(args))
            }
        }
        // Asking for a tuple is what makes socketioxide pass the whole argument list.
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}
