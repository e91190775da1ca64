use crate::app::api::users::{CreateUser, SetUserDisabled, SignOutEverywhere, list_users};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::user::{MIN_PASSWORD_LEN, Role, UserView};
use leptos::either::Either;
use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:me><Users me/></RequireUser> }
}

#[component]
fn Users(me: UserView) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let toggle = ServerAction::<SetUserDisabled>::new();
    let sign_out = ServerAction::<SignOutEverywhere>::new();
    let users = Resource::new(
        move || (create.version().get(), toggle.version().get()),
        |_| list_users(),
    );
    let created = move || {
        create.value().get().map(|result| match result {
            Ok(user) => Either::Left(view! {
                <p class="notice" role="status">{format!("Created {} ({}).", user.email, user.role.as_str())}</p>
            }),
            Err(error) => Either::Right(view! { <ErrorBox error/> }),
        })
    };
    let toggle_error = move || {
        toggle
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorBox error/> })
    };

    let signed_out = move || {
        sign_out.value().get().map(|result| match result {
            Ok(()) => Either::Left(view! {
                <p class="notice" role="status">"Signed out everywhere: every session of that account has ended."</p>
            }),
            Err(error) => Either::Right(view! { <ErrorBox error/> }),
        })
    };

    view! {
        <section>
            <h1>"Users"</h1>
            {toggle_error}
            {signed_out}
            <Suspense fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || {
                    let me = me.user_id;
                    Suspend::new(async move {
                        users.await.map(|list| view! {
                            <table class="list">
                                <thead>
                                    <tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th></th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|u| { let is_me = u.user_id == me; view! { <UserRow user=u toggle sign_out is_me/> } }).collect_view()}
                                </tbody>
                            </table>
                        })
                    })
                }}
            </Suspense>

            <h2>"Add a user"</h2>
            {created}
            <ActionForm action=create attr:class="stack card narrow" attr:aria-label="Add a user">
                <label>"Email" <input type="email" name="email" required/></label>
                <label>"Name" <input type="text" name="display_name" required maxlength="100"/></label>
                <label>
                    {format!("Password (at least {MIN_PASSWORD_LEN} characters)")}
                    <input type="password" name="password" required minlength=MIN_PASSWORD_LEN.to_string() autocomplete="new-password"/>
                </label>
                <label>
                    "Role"
                    <select name="role">
                        <option value="annotator" selected>"Annotator"</option>
                        <option value="reviewer">"Reviewer"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </label>
                <button type="submit" class="primary">"Add user"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn UserRow(
    user: UserView,
    toggle: ServerAction<SetUserDisabled>,
    sign_out: ServerAction<SignOutEverywhere>,
    is_me: bool,
) -> impl IntoView {
    let status = if user.disabled { "disabled" } else { "active" };
    let (label, next_value) = if user.disabled {
        ("Enable", "false")
    } else {
        ("Disable", "true")
    };
    let toggle_label = format!("{label} {}", user.email);
    let sign_out_label = format!("Sign out {} everywhere", user.email);
    let (id, same_id) = (user.user_id.to_string(), user.user_id.to_string());
    view! {
        <tr>
            <td>{user.display_name.clone()}</td>
            <td>{user.email.clone()}</td>
            <td>{user.role.as_str()}</td>
            <td><span class=format!("badge {status}")>{status}</span></td>
            <td>
                {(!is_me).then(|| view! {
                    <ActionForm action=toggle>
                        <input type="hidden" name="user_id" value=id/>
                        <input type="hidden" name="disabled" value=next_value/>
                        <button type="submit" class="small" aria-label=toggle_label>{label}</button>
                    </ActionForm>
                    <ActionForm action=sign_out>
                        <input type="hidden" name="user_id" value=same_id/>
                        <button type="submit" class="small" aria-label=sign_out_label>"Sign out everywhere"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
