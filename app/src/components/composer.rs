//! The composer: a labelled input and Send, fixed at the bottom. Enter sends; blank text is
//! not sent; the input is cleared after sending. Near the server's limit a counter says how
//! much is left (and why, when accented letters or emoji make a text longer in bytes than
//! it looks); over it, Send is disabled and nothing is cut. Until the page is interactive (the server
//! render, and while the WASM loads) both are disabled and the input says "connecting…":
//! the form has no action without the WASM, and typing into it would be lost.

use leptos::html::Input;
use leptos::prelude::*;

use crate::chat::Chat;

/// What the counter says about `text` against a limit of `max_bytes` UTF-8 bytes (the
/// server's rule): nothing until the text is within a tenth of the limit; then how much is
/// left, counted in characters of the kind typed so far; and once over, by how much, with
/// why a shorter-looking text can be too long (é counts 2 bytes, most emoji 4 or more).
/// Characters are what `characters` counts: in the browser, what a person counts
/// ([`characters`]). `true` when over the limit.
pub fn limit_notice(
    text: &str,
    max_bytes: usize,
    characters: impl Fn(&str) -> usize,
) -> Option<(String, bool)> {
    let bytes = text.len();
    if bytes * 10 < max_bytes * 9 {
        return None;
    }
    let chars = characters(text).max(1);
    let multibyte = bytes > chars;
    let explain = if multibyte {
        format!(
            " (the limit is {max_bytes} bytes: é and most accented letters count 2, emoji 4 or more)"
        )
    } else {
        String::new()
    };
    if bytes > max_bytes {
        let over = bytes - max_bytes;
        let noun = if multibyte { "bytes" } else { "characters" };
        return Some((format!("{over} {noun} too long{explain}"), true));
    }
    let left = max_bytes - bytes;
    // As typed so far: how many more characters of the same average size would fit.
    let left_chars = left * chars / bytes.max(1);
    Some((format!("{left_chars} characters left{explain}"), false))
}

/// How many characters a person counts in `text`: grapheme clusters ("👍🏽" is one, not two
/// code points of 8 bytes; "é" written as e + accent is one), by the browser's own
/// `Intl.Segmenter` (a segmentation table of our own would add 28 KB to the WASM), or code
/// points where there is none (on the server, or in a browser without it).
pub fn characters(text: &str) -> usize {
    #[cfg(feature = "hydrate")]
    if let Some(count) = browser_graphemes(text) {
        return count;
    }
    text.chars().count()
}

/// Grapheme clusters by `Intl.Segmenter`, if the browser has it.
#[cfg(feature = "hydrate")]
fn browser_graphemes(text: &str) -> Option<usize> {
    use wasm_bindgen::JsCast;
    thread_local! {
        static SEGMENTER: Option<js_sys::Intl::Segmenter> = {
            let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok();
            let has = intl.is_some_and(|intl| js_sys::Reflect::has(&intl, &"Segmenter".into()).unwrap_or(false));
            has.then(|| js_sys::Intl::Segmenter::new(&js_sys::Array::new(), &js_sys::Object::new()))
        };
    }
    SEGMENTER.with(|segmenter| {
        let segments = segmenter.as_ref()?.segment(text);
        Some(js_sys::Array::from(segments.unchecked_ref()).length() as usize)
    })
}

/// The message input.
#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let input = NodeRef::<Input>::new();
    let settings = use_context::<crate::ClientSettings>().unwrap_or_default();
    #[cfg(feature = "hydrate")]
    let max_bytes = crate::chat::dom::meta_number(crate::meta::MAX_MESSAGE_BYTES)
        .unwrap_or(settings.max_message_bytes) as usize;
    #[cfg(not(feature = "hydrate"))]
    let max_bytes = settings.max_message_bytes as usize;
    let text = RwSignal::new(String::new());
    let notice =
        Memo::new(move |_| text.with(|text| limit_notice(text.trim(), max_bytes, characters)));
    let over = move || notice.with(|n| n.as_ref().is_some_and(|(_, over)| *over));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(field) = input.get() else { return };
        if over() {
            return;
        }
        if chat.send(&field.value()) {
            field.set_value("");
            text.set(String::new());
        }
        let _ = field.focus();
    };
    view! {
        <form id="form" class="composer" on:submit=submit>
            <label for="input" class="visually-hidden">"Message"</label>
            <input id="input" node_ref=input autocomplete="off" aria-describedby="limit"
                placeholder=move || match (chat.ready.get(), chat.can_post.get()) {
                    (false, _) => "connecting…",
                    (true, true) => "Type a message…",
                    (true, false) => "Guests can read here; sign in to post",
                }
                disabled=move || !chat.ready.get() || !chat.can_post.get()
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    chat.typing_changed(!value.is_empty());
                    text.set(value);
                }/>
            <span id="limit" class="limit" class:over=over aria-live="polite">
                {move || notice.get().map(|(words, _)| words)}
            </span>
            <button type="submit" disabled=move || !chat.ready.get() || !chat.can_post.get() || over()>"Send"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_appears_near_the_limit_and_explains_bytes() {
        assert_eq!(limit_notice(&"a".repeat(3000), 4096, characters), None);
        assert_eq!(
            limit_notice(&"a".repeat(4000), 4096, characters),
            Some(("96 characters left".into(), false))
        );
        assert_eq!(
            limit_notice(&"a".repeat(5000), 4096, characters),
            Some(("904 characters too long".into(), true)),
            "a long paste is not cut, it is refused with its excess"
        );
        let (words, over) = limit_notice(&"é".repeat(2100), 4096, characters).unwrap();
        assert!(over);
        assert_eq!(
            words,
            "104 bytes too long (the limit is 4096 bytes: é and most accented letters count 2, emoji 4 or more)"
        );
        let (words, over) = limit_notice(&"é".repeat(2000), 4096, characters).unwrap();
        assert!(!over);
        assert!(words.starts_with("48 characters left"), "{words}");
    }

    #[test]
    fn what_is_left_is_counted_in_the_characters_it_is_given() {
        // A thumbs-up with a skin tone: 8 bytes, one character to a person (the browser's
        // segmenter; its counting is checked in limits.spec.ts).
        let thumbs = "👍🏽";
        let graphemes = |text: &str| text.len() / thumbs.len();
        let (words, over) = limit_notice(&thumbs.repeat(500), 4096, graphemes).unwrap();
        assert!(!over);
        assert!(words.starts_with("12 characters left"), "{words}");
        // Counted as code points (two per thumbs-up), the same text leaves 24.
        let (words, _) = limit_notice(&thumbs.repeat(500), 4096, characters).unwrap();
        assert!(words.starts_with("24 characters left"), "{words}");
    }
}
