use crate::app::api::assist::{
    ControlJob, SaveAssistSettings, StartJob, TestInference, get_agreement_report,
    get_assist_settings, list_jobs,
};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::proposal::{AgreementReport, AssistSettings, DEFAULT_JUDGE_PROMPT, JobView};
use crate::model::user::Role;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// Model-assisted labeling for a project: the inference server, the judge prompt, jobs with
/// their progress, and the model–human agreement.
#[component]
pub fn AssistPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:_user><Assist/></RequireUser> }
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

#[component]
fn Assist() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let save = ServerAction::<SaveAssistSettings>::new();
    let test = ServerAction::<TestInference>::new();
    let start = ServerAction::<StartJob>::new();
    let control = ServerAction::<ControlJob>::new();
    // Jobs and agreement refresh every two seconds while the page is open.
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let settings = Resource::new(
        move || (slug(), save.version().get()),
        |(s, _)| get_assist_settings(s),
    );
    let jobs = Resource::new(
        move || {
            (
                slug(),
                tick.get(),
                start.version().get(),
                control.version().get(),
            )
        },
        |(s, ..)| list_jobs(s),
    );
    let report = Resource::new(
        move || (slug(), tick.get() / 5),
        |(s, _)| get_agreement_report(s),
    );
    let saved = move || {
        save.value().get().map(|r| match r {
            Ok(()) => Either::Left(view! { <p class="notice" role="status">"Settings saved."</p> }),
            Err(error) => Either::Right(view! { <ErrorBox error/> }),
        })
    };
    let tested = move || {
        test.value().get().map(|r| match r {
            Ok(models) => Either::Left(view! {
                <p class="notice" role="status" aria-label="Connection">
                    {format!("Connected. Models offered: {}", models.join(", "))}
                </p>
            }),
            Err(error) => Either::Right(view! { <ErrorBox error/> }),
        })
    };
    let job_error = move || {
        start
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| control.value().get().and_then(Result::err))
            .map(|error| view! { <ErrorBox error/> })
    };
    view! {
        <section>
            <h1>"Model assist"</h1>
            <p class="muted">
                "A local model proposes rankings and thumbs; annotators see them pre-filled, marked as the model's, and accept or change them."
            </p>
            <h2>"Jobs"</h2>
            {job_error}
            <div class="row-actions">
                <ActionForm action=start attr:class="inline-form" attr:aria-label="Pre-label">
                    <input type="hidden" name="slug" value=slug/>
                    <label title="These items are judged a second time with the answers in reverse order: the Quality page shows whether the model prefers a position">
                        "Share judged twice, answers reversed (0 to 1)"
                        <input type="text" name="swap_share" value="0" size="4"/>
                    </label>
                    <button type="submit" class="primary">"Pre-label items without a proposal"</button>
                </ActionForm>
                <ActionForm action=start attr:class="inline-form" attr:aria-label="Generate answers">
                    <input type="hidden" name="slug" value=slug/>
                    <label>"Answers per item" <input type="number" name="answers" min="2" max="8" value="4"/></label>
                    <label>"Temperature" <input type="text" name="temperature" value="0.8" size="4"/></label>
                    <label>"Models, in turn (comma-separated; empty: the configured one)" <input type="text" name="models" class="wide"/></label>
                    <button type="submit">"Generate answers"</button>
                </ActionForm>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading jobs…"</p> }>
                {move || Suspend::new(async move {
                    jobs.await.map(|list| view! { <JobTable list control slug=slug()/> })
                })}
            </Transition>

            <h2>"Agreement"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move { report.await.map(|r| view! { <Agreement report=r/> }) })}
            </Transition>

            <h2>"Inference server"</h2>
            {saved}
            {tested}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    settings.await.map(|s| view! { <SettingsForm settings=s save test slug=slug()/> })
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn JobTable(list: Vec<JobView>, control: ServerAction<ControlJob>, slug: String) -> impl IntoView {
    if list.is_empty() {
        return Either::Left(view! { <p class="muted">"No jobs yet."</p> });
    }
    Either::Right(view! {
        <table class="list jobs" aria-label="Jobs">
            <thead><tr><th>"Job"</th><th>"Status"</th><th>"Progress"</th><th class="num">"Rate"</th><th>"ETA"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|job| {
                    let finished = job.done + job.failed;
                    let width = if job.total > 0 { finished * 100 / job.total } else { 100 };
                    let eta = job.eta_secs.map_or_else(|| "–".to_owned(), |s| format!("{}m {}s", s / 60, s % 60));
                    let name = format!("{}{}", job.kind, if job.auto { " (auto)" } else { "" });
                    let actions: Vec<(&str, &str)> = match job.status.as_str() {
                        "running" => vec![("pause", "Pause"), ("cancel", "Cancel")],
                        "paused" => vec![("resume", "Resume"), ("cancel", "Cancel")],
                        _ => vec![],
                    };
                    let slug = slug.clone();
                    let failures = job.failures.clone();
                    view! {
                        <tr>
                            <td>{name}<div class="muted small">{job.created_at.format("%Y-%m-%d %H:%M").to_string()}</div></td>
                            <td><span class=format!("badge {}", job.status)>{job.status.clone()}</span></td>
                            <td>
                                <div class="bar"><div style=format!("width: {width}%")></div></div>
                                <span class="job-progress">{format!("{} / {} done, {} failed", job.done, job.total, job.failed)}</span>
                                {(!failures.is_empty()).then(|| view! {
                                    <details><summary>"Failures"</summary><ul>
                                        {failures.into_iter().map(|(item, why)| view! { <li><code>{item}</code>": "{why}</li> }).collect_view()}
                                    </ul></details>
                                })}
                            </td>
                            <td class="num">{format!("{:.1}/min", job.per_minute)}</td>
                            <td>{eta}</td>
                            <td>
                                {actions.into_iter().map(|(action, label)| { let slug = slug.clone(); view! {
                                    <ActionForm action=control>
                                        <input type="hidden" name="slug" value=slug/>
                                        <input type="hidden" name="job_id" value=job.job_id.to_string()/>
                                        <input type="hidden" name="action" value=action/>
                                        <button type="submit" class="small" aria-label=format!("{label} job")>{label}</button>
                                    </ActionForm>
                                }}).collect_view()}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}

#[component]
fn Agreement(report: AgreementReport) -> impl IntoView {
    let mean = |m: Option<f64>| m.map_or_else(|| "–".to_owned(), |m| format!("{:.0}%", m * 100.0));
    view! {
        <div class="card" aria-label="Agreement">
            <p>{format!(
                "{} proposals ({} failed). {} annotations made with a proposal in view: {} accepted as is ({}), {} modified, {} replaced. Mean pairwise agreement of rankings: {}.",
                report.proposals_done, report.proposals_failed, report.shown, report.accepted,
                percent(report.accepted, report.shown), report.modified, report.replaced, mean(report.mean_agreement)
            )}</p>
            {(!report.by_day.is_empty()).then(|| view! {
                <table class="list">
                    <thead><tr><th>"Day"</th><th class="num">"With proposal"</th><th class="num">"Accepted"</th><th class="num">"Agreement"</th></tr></thead>
                    <tbody>
                        {report.by_day.into_iter().map(|d| view! {
                            <tr>
                                <td>{d.day.to_string()}</td>
                                <td class="num">{d.shown}</td>
                                <td class="num">{percent(d.accepted, d.shown)}</td>
                                <td class="num">{mean(d.mean_agreement)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </div>
    }
}

#[component]
fn SettingsForm(
    settings: AssistSettings,
    save: ServerAction<SaveAssistSettings>,
    test: ServerAction<TestInference>,
    slug: String,
) -> impl IntoView {
    let hint = |value: &Option<String>| value.clone().unwrap_or_else(|| "not set".into());
    let holdout = format!("{}", (settings.proposal_holdout * 100.0).round());
    let test_slug = slug.clone();
    view! {
        <ActionForm action=save attr:class="stack card" attr:aria-label="Inference settings">
            <input type="hidden" name="slug" value=slug.clone()/>
            <label>
                "Base URL (OpenAI-compatible: llama.cpp server, vLLM, Ollama)"
                <input type="url" name="base_url" value=settings.base_url.clone().unwrap_or_default()
                    placeholder=format!("deployment default: {}", hint(&settings.default_base_url))/>
            </label>
            <label>
                "Model"
                <input type="text" name="model" value=settings.model.clone().unwrap_or_default()
                    placeholder=format!("deployment default: {}", hint(&settings.default_model))/>
            </label>
            <label>
                {if settings.api_key_set { "API key (one is set; leave empty to keep it)" } else { "API key (optional)" }}
                <input type="password" name="api_key" autocomplete="off"/>
            </label>
            <label class="inline"><input type="checkbox" name="clear_api_key"/>"Remove the stored API key"</label>
            <label>
                "Timeout (seconds)"
                <input type="number" name="timeout_secs" min="1" max="600"
                    value=settings.timeout_secs.map(|t| t.to_string()).unwrap_or_default()
                    placeholder=settings.default_timeout_secs.to_string()/>
            </label>
            <label>
                "Concurrent requests"
                <input type="number" name="concurrency" min="1" max="64"
                    value=settings.concurrency.map(|c| c.to_string()).unwrap_or_default()
                    placeholder=settings.default_concurrency.to_string()/>
            </label>
            <label>
                "Judge prompt ({guidelines}, {conversation} and {answers} are filled in; empty: the built-in one)"
                <textarea name="judge_prompt" rows="10" placeholder=DEFAULT_JUDGE_PROMPT>{settings.judge_prompt.clone().unwrap_or_default()}</textarea>
            </label>
            <label class="inline"><input type="checkbox" name="auto_prelabel" checked=settings.auto_prelabel/>"Pre-label new items as they arrive"</label>
            <label>
                "Hide proposals from this share of annotators (%), to measure anchoring"
                <input type="number" name="holdout_percent" min="0" max="100" value=holdout/>
            </label>
            <button type="submit" class="primary">"Save"</button>
        </ActionForm>
        <ActionForm action=test attr:aria-label="Test connection">
            <input type="hidden" name="slug" value=test_slug/>
            <button type="submit">"Test connection"</button>
        </ActionForm>
    }
}
