use super::error_box::ErrorBox;
use crate::app::CurrentUser;
use crate::model::user::{Role, UserView};
use leptos::either::EitherOf4;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Renders `children` for a signed-in user with at least `role`; sends a visitor to the
/// login page (a 302 when rendered on the server). This is convenience: the server
/// functions behind each page check permissions themselves.
#[component]
pub fn RequireUser<F, IV>(role: Role, children: F) -> impl IntoView
where
    F: Fn(UserView) -> IV + Clone + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let CurrentUser(me) = expect_context::<CurrentUser>();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) if user.role >= role => EitherOf4::A(children(user)),
                        Ok(Some(_)) => EitherOf4::B(view! {
                            <p class="error" role="alert">"This page is for admins."</p>
                        }),
                        Ok(None) => EitherOf4::C(view! { <Redirect path=login_path(&here)/> }),
                        Err(error) => EitherOf4::D(view! { <ErrorBox error/> }),
                    }
                })
            }}
        </Suspense>
    }
}

fn login_path(here: &str) -> String {
    if here == "/" {
        "/login".to_owned()
    } else {
        let encoded = crate::model::url::encode_query_value(here);
        format!("/login?next={encoded}")
    }
}
