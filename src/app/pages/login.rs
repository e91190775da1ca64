use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A plain form posting to `/auth/login`: it signs in with or without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query.with(|q| {
            let retry = q
                .get("retry")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(60);
            q.get("error").map(|code| match code.as_str() {
                "invalid" => "Wrong email or password.".to_owned(),
                "disabled" => "This account is disabled. Ask an admin to enable it.".to_owned(),
                "throttled" => format!(
                    "Too many failed attempts for this account. Try again in {} minute(s).",
                    retry.div_ceil(60)
                ),
                _ => "Signing in is unavailable right now. Try again shortly.".to_owned(),
            })
        })
    };
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    let (show_password, set_show_password) = signal(false);

    view! {
        <section class="narrow card">
            <h1>"Sign in to Verdict"</h1>
            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <form method="post" action="/auth/login" class="stack">
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus/>
                </label>
                <label>
                    "Password"
                    <input
                        type=move || if show_password.get() { "text" } else { "password" }
                        name="password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                <label class="inline">
                    <input
                        type="checkbox"
                        on:change=move |ev| set_show_password.set(event_target_checked(&ev))
                    />
                    "Show password"
                </label>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </section>
    }
}
