use crate::app::CurrentUser;
use crate::model::user::Role;
use leptos::prelude::*;

#[component]
pub fn Nav() -> impl IntoView {
    let CurrentUser(me) = expect_context::<CurrentUser>();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Verdict"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|user| {
                        let is_admin = user.role == Role::Admin;
                        view! {
                            <nav aria-label="Main">
                                <a href="/">"Projects"</a>
                                <Show when=move || is_admin>
                                    <a href="/admin/users">"Users"</a>
                                    <a href="/admin/tokens">"API tokens"</a>
                                    <a href="/admin/audit" rel="external">"Audit log"</a>
                                </Show>
                            </nav>
                            <div class="who">
                                <span class="user-name">{user.display_name.clone()}</span>
                                <span class="badge">{user.role.as_str()}</span>
                                <form method="post" action="/auth/logout">
                                    <button type="submit" class="link">"Sign out"</button>
                                </form>
                            </div>
                        }
                    })
                })}
            </Suspense>
        </header>
    }
}
