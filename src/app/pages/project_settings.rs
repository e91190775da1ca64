use crate::app::api::projects::{SaveProjectSettings, project_settings};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::project::{ProjectForm, ProjectSettings};
use crate::model::user::Role;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ProjectSettingsPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:_user><Settings/></RequireUser> }
}

#[component]
fn Settings() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let save = ServerAction::<SaveProjectSettings>::new();
    let settings = Resource::new(
        move || (slug(), save.version().get()),
        |(slug, _)| project_settings(slug),
    );
    let outcome = move || {
        save.value().get().map(|r| match r {
            Ok(_) => Either::Left(view! { <p class="notice" role="status">"Settings saved."</p> }),
            Err(error) => Either::Right(view! { <ErrorBox error/> }),
        })
    };
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => Either::Left(view! {
                        <section>
                            <h1>{format!("Settings: {}", s.name)}</h1>
                            {outcome}
                            <SettingsForm settings=s save/>
                        </section>
                    }),
                    Err(error) => Either::Right(view! { <ErrorBox error/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SettingsForm(
    settings: ProjectSettings,
    save: ServerAction<SaveProjectSettings>,
) -> impl IntoView {
    let form = ProjectForm::from_settings(&settings);
    let checkbox = |name: &'static str, label: &'static str, on: bool| {
        view! {
            <label class="inline">
                <input type="checkbox" name=format!("form[{name}]") checked=on/>
                {label}
            </label>
        }
    };
    view! {
        <ActionForm action=save attr:class="stack card" attr:aria-label="Project settings">
            <input type="hidden" name="slug" value=settings.slug.clone()/>
            <label>"Name" <input type="text" name="form[name]" required maxlength="200" value=form.name.clone()/></label>
            <label>
                "Guidelines (markdown)"
                <textarea name="form[guidelines]" rows="8">{form.guidelines.clone()}</textarea>
            </label>
            <fieldset class="flags">
                <legend>"Feedback annotators give"</legend>
                {checkbox("thumbs", "Thumbs per answer", form.thumbs.is_some())}
                {checkbox("ranking", "Ranking", form.ranking.is_some())}
                {checkbox("allow_ties", "Ties in rankings", form.allow_ties.is_some())}
                {checkbox("ideal", "Ideal answer", form.ideal.is_some())}
                {checkbox("flags", "Flags", form.flags.is_some())}
                {checkbox("comment", "Comment", form.comment.is_some())}
            </fieldset>
            <label>
                "Judgment schema (JSON: strength, rubric, none_acceptable, rationale_required; blank for none; a change makes a new guideline version)"
                <textarea name="form[judgment]" rows="8" class="mono" spellcheck="false"
                    placeholder=r#"{"strength": {"steps": [{"label": "much better", "margin": 3}, {"label": "about the same", "margin": 0}]}, "rubric": [{"key": "helpfulness", "name": "Helpfulness", "scale": "one_to_five", "required": true}], "none_acceptable": true}"#>
                    {form.judgment.clone()}
                </textarea>
            </label>
            <label>
                "Annotators per item (overlap)"
                <input type="number" name="form[overlap]" min="1" max="100" required value=form.overlap.to_string()/>
            </label>
            <label>
                "Lease length (minutes)"
                <input type="number" name="form[lease_minutes]" min="1" max="1440" required value=form.lease_minutes.to_string()/>
            </label>
            {checkbox("shuffle_answers", "Shuffle the answer order for each annotator", form.shuffle_answers.is_some())}
            <button type="submit" class="primary">"Save settings"</button>
        </ActionForm>
    }
}
