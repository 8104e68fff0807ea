//! The account controls in the top bar: who you are, and the forms to sign in, sign up,
//! sign out and change your password. Plain HTML forms posted to the server's `/auth/*`
//! endpoints: they work before the WASM has loaded and with JavaScript off, and a refusal
//! comes back as the page's query (`?auth=…&error=…`), shown next to its form.

use leptos::prelude::*;

use crate::chat::Chat;
use crate::viewer::{AuthNotice, Viewer};

/// Who you are, and what you can do about it.
#[component]
pub fn AccountPanel() -> impl IntoView {
    let viewer = expect_context::<Viewer>();
    let notice = use_context::<Option<AuthNotice>>().flatten();
    match viewer.username {
        Some(username) => view! { <SignedIn username notice/> }.into_any(),
        None => view! { <SignedOut notice/> }.into_any(),
    }
}

/// The refusal of `form`, if the last post of it was refused.
fn error_of(notice: &Option<AuthNotice>, form: &str) -> Option<String> {
    notice
        .as_ref()
        .filter(|notice| notice.form == form)
        .map(AuthNotice::text)
}

/// The error line under a form.
#[component]
fn FormError(error: Option<String>, id: &'static str) -> impl IntoView {
    error.map(|error| view! { <p class="form-error" id=id role="alert">{error}</p> })
}

#[component]
fn SignedIn(username: String, notice: Option<AuthNotice>) -> impl IntoView {
    let password_error = error_of(&notice, "password");
    let sign_out_error = error_of(&notice, "sign-out");
    let open = password_error.is_some();
    view! {
        <div class="account" data-signed-in="true">
            <span class="who">"Signed in as " <strong class="me-name">{username}</strong></span>
            <form method="post" action="/auth/sign-out" class="inline">
                <button type="submit" class="link" id="sign-out">"Sign out"</button>
            </form>
            <FormError error=sign_out_error id="sign-out-error"/>
            <details class="auth" open=open>
                <summary>"Password"</summary>
                <form method="post" action="/auth/password" class="auth-form" aria-label="Change password">
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" type="password" name="current" required
                        autocomplete="current-password" maxlength="128"/>
                    <label for="new-password">"New password (8–128 characters)"</label>
                    <input id="new-password" type="password" name="new" required
                        autocomplete="new-password" minlength="8" maxlength="128"/>
                    <FormError error=password_error id="password-error"/>
                    <button type="submit">"Change password"</button>
                    <p class="hint">"Signs you out on every other device."</p>
                </form>
            </details>
        </div>
    }
}

#[component]
fn SignedOut(notice: Option<AuthNotice>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let sign_in_error = error_of(&notice, "sign-in");
    let sign_up_error = error_of(&notice, "sign-up");
    let (sign_in_open, sign_up_open) = (sign_in_error.is_some(), sign_up_error.is_some());
    view! {
        <div class="account" data-signed-in="false">
            <span class="who">
                {move || {
                    let name = chat.nickname.get();
                    if name.is_empty() { "Guest".to_owned() } else { name }
                }}
                " " <span class="guest-badge">"guest"</span>
            </span>
            <details class="auth" open=sign_in_open>
                <summary>"Sign in"</summary>
                <form method="post" action="/auth/sign-in" class="auth-form" aria-label="Sign in">
                    <label for="sign-in-username">"Username"</label>
                    <input id="sign-in-username" name="username" required autocomplete="username"
                        autocapitalize="none" spellcheck="false" maxlength="32"/>
                    <label for="sign-in-password">"Password"</label>
                    <input id="sign-in-password" type="password" name="password" required
                        autocomplete="current-password" maxlength="128"/>
                    <FormError error=sign_in_error id="sign-in-error"/>
                    <button type="submit">"Sign in"</button>
                </form>
            </details>
            <details class="auth" open=sign_up_open>
                <summary>"Sign up"</summary>
                <form method="post" action="/auth/sign-up" class="auth-form" aria-label="Sign up">
                    <label for="sign-up-username">"Username (3–32: letters, digits, _ - .)"</label>
                    <input id="sign-up-username" name="username" required autocomplete="username"
                        autocapitalize="none" spellcheck="false" minlength="3" maxlength="32"
                        pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{2,31}"/>
                    <label for="sign-up-password">"Password (8–128 characters)"</label>
                    <input id="sign-up-password" type="password" name="password" required
                        autocomplete="new-password" minlength="8" maxlength="128"/>
                    <FormError error=sign_up_error id="sign-up-error"/>
                    <button type="submit">"Create account"</button>
                </form>
            </details>
        </div>
    }
}
