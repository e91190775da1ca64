use crate::app::api::projects::list_projects;
use crate::app::api::tokens::{CreateToken, RevokeToken, list_tokens};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::api::{Scope, TokenView};
use crate::model::user::Role;
use leptos::either::Either;
use leptos::prelude::*;

/// API tokens for model backends: create (the secret is shown once), list, revoke.
#[component]
pub fn TokensPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:_me><Tokens/></RequireUser> }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>, never: &'static str) -> String {
    t.map_or_else(
        || never.to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let projects = Resource::new(|| (), |_| list_projects());
    let created = move || {
        create.value().get().map(|result| match result {
            Ok(created) => Either::Left(view! {
                <div class="notice" role="status">
                    <p>{format!("Created {}. Copy the secret now: it is not shown again.", created.token.name)}</p>
                    <code class="secret" aria-label="Token secret">{created.secret}</code>
                </div>
            }),
            Err(error) => Either::Right(view! { <ErrorBox error/> }),
        })
    };
    let revoke_error = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorBox error/> })
    };
    view! {
        <section>
            <h1>"API tokens"</h1>
            <p class="muted">
                "Model backends call the API with " <code>"Authorization: Bearer <token>"</code>
                ". See the " <a href="/api/v1/docs">"API reference"</a> "."
            </p>
            {revoke_error}
            <Suspense fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    tokens.await.map(|list| view! {
                        <table class="list" aria-label="Tokens">
                            <thead>
                                <tr><th>"Name"</th><th>"Starts with"</th><th>"Scopes"</th><th>"Project"</th><th>"Last used"</th><th>"Status"</th><th></th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|t| view! { <TokenRow token=t revoke/> }).collect_view()}
                            </tbody>
                        </table>
                    })
                })}
            </Suspense>

            <h2>"Create a token"</h2>
            {created}
            <ActionForm action=create attr:class="stack card narrow" attr:aria-label="Create a token">
                <label>"Name" <input type="text" name="name" required maxlength="100" placeholder="e.g. trainer on gpu-3"/></label>
                <fieldset>
                    <legend>"Scopes"</legend>
                    {Scope::ALL.into_iter().map(|scope| {
                        let name = scope.as_str().replace(':', "_");
                        view! { <label class="inline"><input type="checkbox" name=name/>{scope.as_str()}</label> }
                    }).collect_view()}
                </fieldset>
                <label>
                    "Project"
                    <select name="project">
                        <option value="">"All projects"</option>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                projects.await.map(|list| list.into_iter().map(|p| view! {
                                    <option value=p.slug.clone()>{p.name.clone()}</option>
                                }).collect_view())
                            })}
                        </Suspense>
                    </select>
                </label>
                <button type="submit" class="primary">"Create token"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn TokenRow(token: TokenView, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
    let revoked = token.revoked_at.is_some();
    let status = if revoked { "revoked" } else { "active" };
    view! {
        <tr>
            <td>{token.name.clone()}</td>
            <td><code>{format!("{}…", token.prefix)}</code></td>
            <td>{scopes.join(", ")}</td>
            <td>{token.project.clone().unwrap_or_else(|| "all".into())}</td>
            <td>{when(token.last_used_at, "never")}</td>
            <td><span class=format!("badge {status}")>{status}</span></td>
            <td>
                {(!revoked).then(|| view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="token_id" value=token.token_id.to_string()/>
                        <button type="submit" class="small" aria-label=format!("Revoke {}", token.name)>"Revoke"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
