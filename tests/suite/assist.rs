//! Model-assisted labeling: jobs in the PostgreSQL queue, proposals in the workspace,
//! outcomes and agreement. Fault cases run against a small fake OpenAI-compatible server
//! (a real one cannot be made to time out or send a bad ranking on demand); the happy path
//! also runs against a real llama.cpp server when `VERDICT_TEST_LLM_URL` is set (test.sh
//! starts one).

use crate::common;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput};
use verdict::model::proposal::ProposalOutcome;
use verdict::model::user::Role;
use verdict::server::config::InferenceDefaults;
use verdict::server::inference::worker;
use verdict::server::secrets::SecretKey;
use verdict::server::services::assist::{self, AssistForm, JobKind};
use verdict::server::services::{Actor, items, labeling, projects};

/// How the fake server misbehaves.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Good,
    Slow,
    ServerError,
    NotJson,
    UnknownAnswer,
    CutOff,
    /// A 500 on the first call, then good answers.
    FlakyOnce,
}

#[derive(Clone)]
struct Fake {
    mode: Mode,
    calls: Arc<AtomicUsize>,
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "fake-judge", "object": "model"}]}))
}

async fn chat(State(fake): State<Fake>, Json(body): Json<Value>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let call = fake.calls.fetch_add(1, Ordering::SeqCst);
    let reply = |content: &str, finish: &str| {
        Json(json!({"choices": [{"index": 0, "finish_reason": finish,
                                 "message": {"role": "assistant", "content": content}}]}))
        .into_response()
    };
    let judged = body.get("response_format").is_some();
    let good = if judged {
        json!({"ranking": "B>A", "thumbs": {"A": false, "B": true},
               "rationale": "B answers the question", "confidence": 0.75})
        .to_string()
    } else {
        format!(
            "generated answer {} by {}",
            body["seed"],
            body["model"].as_str().unwrap_or("")
        )
    };
    match fake.mode {
        Mode::Good => reply(&good, "stop"),
        Mode::FlakyOnce if call > 0 => reply(&good, "stop"),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            reply(&good, "stop")
        }
        Mode::ServerError | Mode::FlakyOnce => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "the model crashed", "type": "server_error"}})),
        )
            .into_response(),
        Mode::NotJson => reply("Sure! B is better.", "stop"),
        Mode::UnknownAnswer => reply(
            &json!({"ranking": "C>A", "thumbs": {"A": true, "B": true},
                    "rationale": "r", "confidence": 0.5})
            .to_string(),
            "stop",
        ),
        Mode::CutOff => reply("{\"ranking\": \"B>A\", \"thu", "length"),
    }
}

/// Starts the fake server; returns its base URL and its call counter.
async fn fake_server(mode: Mode) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .with_state(Fake {
            mode,
            calls: calls.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), calls)
}

/// The deployment's secret key in these tests: settings sealed with it open in the worker.
static SECRET: std::sync::LazyLock<SecretKey> = std::sync::LazyLock::new(SecretKey::random);

fn defaults() -> InferenceDefaults {
    InferenceDefaults {
        timeout_secs: 60,
        concurrency: 1,
        secret_key: Some(SECRET.clone()),
        ..InferenceDefaults::default()
    }
}

/// A project `qa` of `n` items with two answers each, using the inference server at `url`.
async fn project(pool: &sqlx::PgPool, url: &str, model: &str, n: usize) {
    let cli = Actor::cli();
    projects::create(pool, &cli, "qa", "Q&A").await.unwrap();
    let values: Vec<Value> = (0..n)
        .map(|i| {
            json!({"external_id": format!("q{i}"), "prompt": format!("What is {i} + {i}?"),
                   "responses": [format!("{}", i * 3), format!("{}", i * 2)]})
        })
        .collect();
    let report = items::push(pool, &cli, "qa", &values).await.unwrap();
    assert_eq!(report.created, n);
    settings(pool, url, model, |_| {}).await;
}

async fn settings(
    pool: &sqlx::PgPool,
    url: &str,
    model: &str,
    change: impl FnOnce(&mut AssistForm),
) {
    let mut form = AssistForm {
        base_url: url.into(),
        model: model.into(),
        timeout_secs: "1".into(),
        ..AssistForm::default()
    };
    change(&mut form);
    assist::update_settings(pool, &Actor::cli(), "qa", &form, &defaults())
        .await
        .unwrap();
}

/// Starts a pre-labeling job and works it in this process until it is no longer running.
async fn run_job(pool: &sqlx::PgPool, kind: JobKind) -> verdict::model::proposal::JobView {
    let job = assist::start_job(pool, &Actor::cli(), "qa", kind)
        .await
        .unwrap();
    for _ in 0..200 {
        worker::step(pool, &defaults(), Some(job.job_id))
            .await
            .unwrap();
        let now = job_view(pool, job.job_id).await;
        if now.status != "running" {
            return now;
        }
    }
    panic!("the job did not finish");
}

async fn job_view(pool: &sqlx::PgPool, job_id: Uuid) -> verdict::model::proposal::JobView {
    assist::jobs(pool, &Actor::cli(), "qa")
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.job_id == job_id)
        .unwrap()
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test]
async fn a_job_prelabels_and_annotators_see_accept_or_change_the_proposal(pool: sqlx::PgPool) {
    let (url, calls) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-judge", 3).await;
    let models = assist::test_connection(&pool, &Actor::cli(), "qa", &defaults())
        .await
        .unwrap();
    assert_eq!(models, ["fake-judge"]);

    let job = run_job(&pool, JobKind::Prelabel { swap_share: 0.0 }).await;
    assert_eq!(
        (job.status.as_str(), job.total, job.done, job.failed),
        ("done", 3, 3, 0)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one call per item");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM proposals WHERE status = 'done'"
        )
        .await,
        3
    );
    // A second job finds nothing left to do.
    let again = run_job(&pool, JobKind::Prelabel { swap_share: 0.0 }).await;
    assert_eq!((again.status.as_str(), again.total), ("done", 0));

    let app = common::TestApp::new(pool.clone()).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let actor = Actor::from(&ann);
    let mut outcomes = Vec::new();
    let mut task = labeling::next(&pool, &actor, "qa").await.unwrap();
    let mut n = 0;
    while let Some(t) = task {
        let proposal = t.proposal.clone().expect("the task carries the proposal");
        assert_eq!(proposal.model, "fake-judge");
        assert_eq!(proposal.rationale, "B answers the question");
        // B (the second answer in the original order) is proposed best.
        let original: Vec<Uuid> = sqlx::query_scalar(
            "SELECT response_id FROM responses WHERE item_id = $1 ORDER BY ordinal",
        )
        .bind(t.item_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(proposal.ranking, vec![vec![original[1]], vec![original[0]]]);
        let ranking = match n {
            0 | 1 => proposal.ranking.clone(),
            _ => vec![vec![original[0]], vec![original[1]]],
        };
        let thumbs = if n == 0 {
            proposal.thumbs.clone()
        } else {
            [(original[1], true)].into_iter().collect()
        };
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: t.item_id,
            body: AnnotationBody {
                ranking: Some(ranking),
                thumbs,
                ..Default::default()
            },
            shown_order: t.answers.iter().map(|a| a.response_id).collect(),
            proposal_id: Some(proposal.proposal_id),
            ..Default::default()
        };
        task = labeling::submit(&pool, &actor, "qa", input)
            .await
            .unwrap()
            .next;
        outcomes.push(n);
        n += 1;
    }
    assert_eq!(outcomes.len(), 3);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT proposal_outcome FROM annotations ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(stored, ["accepted", "modified", "replaced"]);
    let report = assist::agreement(&pool, &Actor::cli(), "qa").await.unwrap();
    assert_eq!((report.proposals_done, report.shown), (3, 3));
    assert_eq!(
        (report.accepted, report.modified, report.replaced),
        (1, 1, 1)
    );
    // Rankings agree on 1, 1 and 0 of their one pair.
    assert!((report.mean_agreement.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(report.by_day.len(), 1);
    assert_eq!(ProposalOutcome::Accepted.as_str(), "accepted");
}

#[sqlx::test]
async fn each_fault_leaves_a_clear_per_item_error_and_no_proposal(pool: sqlx::PgPool) {
    let cases = [
        (Mode::Slow, "timeout"),
        (Mode::ServerError, "500: the model crashed"),
        (Mode::NotJson, "not JSON"),
        (
            Mode::UnknownAnswer,
            "\"C\", which is not one of the answers",
        ),
        (Mode::CutOff, "cut off at max_tokens"),
    ];
    for (round, (mode, expected)) in cases.into_iter().enumerate() {
        // A fresh project per fault.
        sqlx::query("DELETE FROM projects")
            .execute(&pool)
            .await
            .unwrap();
        let (url, calls) = fake_server(mode).await;
        project(&pool, &url, "fake-judge", 2).await;
        let job = run_job(&pool, JobKind::Prelabel { swap_share: 0.0 }).await;
        assert_eq!(
            (job.status.as_str(), job.done, job.failed),
            ("done", 0, 2),
            "{mode:?}"
        );
        assert_eq!(job.failures.len(), 2);
        for (_, why) in &job.failures {
            assert!(why.contains(expected), "{mode:?}: {why}");
        }
        let failed: Vec<String> =
            sqlx::query_scalar("SELECT error FROM proposals WHERE status = 'failed'")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(failed.len(), 2, "{mode:?}");
        assert!(failed.iter().all(|e| e.contains(expected)));
        assert_eq!(
            count(
                &pool,
                "SELECT count(*) FROM proposals WHERE status = 'done'"
            )
            .await,
            0
        );
        // Transient faults were retried (three attempts per item); the others were not.
        let per_item = if matches!(mode, Mode::Slow | Mode::ServerError) {
            3
        } else {
            1
        };
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2 * per_item,
            "{mode:?} (round {round})"
        );
        // Annotators get no proposal for these items.
        let app = common::TestApp::new(pool.clone()).await;
        let ann = app
            .user(&format!("a{round}@example.org"), Role::Annotator)
            .await;
        let task = labeling::next(&pool, &Actor::from(&ann), "qa")
            .await
            .unwrap()
            .unwrap();
        assert!(task.proposal.is_none());
    }
}

#[sqlx::test]
async fn a_server_error_once_is_retried(pool: sqlx::PgPool) {
    let (url, calls) = fake_server(Mode::FlakyOnce).await;
    project(&pool, &url, "fake-judge", 2).await;
    let job = run_job(&pool, JobKind::Prelabel { swap_share: 0.0 }).await;
    assert_eq!((job.done, job.failed), (2, 0));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[sqlx::test]
async fn workers_racing_on_one_job_never_do_an_item_twice(pool: sqlx::PgPool) {
    let (url, calls) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-judge", 12).await;
    let job = assist::start_job(
        &pool,
        &Actor::cli(),
        "qa",
        JobKind::Prelabel { swap_share: 0.0 },
    )
    .await
    .unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut worked = 0;
                loop {
                    let n = worker::step(&pool, &defaults(), Some(job.job_id))
                        .await
                        .unwrap();
                    if n == 0 {
                        return worked;
                    }
                    worked += n;
                }
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, 12);
    assert_eq!(calls.load(Ordering::SeqCst), 12, "no item judged twice");
    assert_eq!(job_view(&pool, job.job_id).await.done, 12);
}

#[sqlx::test]
async fn items_of_a_worker_that_died_are_taken_up_after_their_lease(pool: sqlx::PgPool) {
    let (url, _) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-judge", 2).await;
    let job = assist::start_job(
        &pool,
        &Actor::cli(),
        "qa",
        JobKind::Prelabel { swap_share: 0.0 },
    )
    .await
    .unwrap();
    // A worker claims both items and dies before finishing them.
    let claimed = verdict::server::store::jobs::claim(&pool, job.job_id, 2, 0.2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        worker::step(&pool, &defaults(), Some(job.job_id))
            .await
            .unwrap(),
        0,
        "leased"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut done = 0;
    while done < 2 {
        let n = worker::step(&pool, &defaults(), Some(job.job_id))
            .await
            .unwrap();
        assert!(n > 0);
        done += n;
    }
    let job = job_view(&pool, job.job_id).await;
    assert_eq!((job.status.as_str(), job.done), ("done", 2));
}

#[sqlx::test]
async fn jobs_pause_resume_and_cancel(pool: sqlx::PgPool) {
    let (url, calls) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-judge", 3).await;
    let cli = Actor::cli();
    let job = assist::start_job(&pool, &cli, "qa", JobKind::Prelabel { swap_share: 0.0 })
        .await
        .unwrap();
    let paused = assist::control(&pool, &cli, "qa", job.job_id, "pause")
        .await
        .unwrap();
    assert_eq!(paused.status, "paused");
    assert_eq!(worker::step(&pool, &defaults(), None).await.unwrap(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assist::control(&pool, &cli, "qa", job.job_id, "resume")
        .await
        .unwrap();
    assert_eq!(worker::step(&pool, &defaults(), None).await.unwrap(), 1);
    let cancelled = assist::control(&pool, &cli, "qa", job.job_id, "cancel")
        .await
        .unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(worker::step(&pool, &defaults(), None).await.unwrap(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let refused = assist::control(&pool, &cli, "qa", job.job_id, "resume").await;
    assert!(matches!(refused, Err(verdict::server::Error::Conflict(_))));
}

#[sqlx::test]
async fn settings_are_validated_and_connection_failures_are_clear(pool: sqlx::PgPool) {
    project(&pool, "http://127.0.0.1:9/v1", "m", 1).await;
    let cli = Actor::cli();
    let refused = assist::test_connection(&pool, &cli, "qa", &defaults())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("cannot reach the inference server"),
        "{refused}"
    );
    let bad = |change: fn(&mut AssistForm)| {
        let pool = pool.clone();
        async move {
            let mut form = AssistForm {
                base_url: "http://127.0.0.1:9/v1".into(),
                ..AssistForm::default()
            };
            change(&mut form);
            match assist::update_settings(&pool, &Actor::cli(), "qa", &form, &defaults()).await {
                Err(verdict::server::Error::Invalid(e)) => e.field.unwrap(),
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(bad(|f| f.base_url = "ftp://x".into()).await, "base_url");
    assert_eq!(bad(|f| f.timeout_secs = "0".into()).await, "timeout_secs");
    assert_eq!(bad(|f| f.concurrency = "lots".into()).await, "concurrency");
    assert_eq!(
        bad(|f| f.judge_prompt = "Rank them.".into()).await,
        "judge_prompt"
    );
    assert_eq!(
        bad(|f| f.holdout_percent = "150".into()).await,
        "holdout_percent"
    );
    // Annotators cannot see or change them.
    let app = common::TestApp::new(pool.clone()).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let denied = assist::settings(&pool, &Actor::from(&ann), "qa", &defaults()).await;
    assert!(matches!(denied, Err(verdict::server::Error::Forbidden)));
}

#[sqlx::test]
async fn held_out_annotators_and_new_items_with_auto_prelabel(pool: sqlx::PgPool) {
    let (url, _) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-judge", 1).await;
    settings(&pool, &url, "fake-judge", |f| {
        f.holdout_percent = "100".into();
        f.auto_prelabel = true;
    })
    .await;
    // Items arriving are queued by the worker's auto step and pre-labeled.
    worker::enqueue_auto(&pool).await.unwrap();
    while worker::step(&pool, &defaults(), None).await.unwrap() > 0 {}
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM proposals WHERE status = 'done'"
        )
        .await,
        1
    );
    let more = [json!({"external_id": "late", "prompt": "late?", "responses": ["a", "b"]})];
    items::push(&pool, &Actor::cli(), "qa", &more)
        .await
        .unwrap();
    worker::enqueue_auto(&pool).await.unwrap();
    while worker::step(&pool, &defaults(), None).await.unwrap() > 0 {}
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM proposals WHERE status = 'done'"
        )
        .await,
        2
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM jobs").await,
        1,
        "one auto job"
    );
    // Everyone is held out at 100%.
    let app = common::TestApp::new(pool.clone()).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let task = labeling::next(&pool, &Actor::from(&ann), "qa")
        .await
        .unwrap()
        .unwrap();
    assert!(task.proposal.is_none());
}

#[sqlx::test]
async fn generating_answers_fills_items_up_to_the_wanted_count(pool: sqlx::PgPool) {
    let (url, calls) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-gen", 2).await;
    let job = run_job(
        &pool,
        JobKind::Generate {
            answers: 4,
            temperature: 0.7,
            models: vec!["gen-a".into(), "gen-b".into()],
        },
    )
    .await;
    assert_eq!((job.done, job.failed), (2, 0));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let generated: Vec<(i16, Option<String>, String)> = sqlx::query_as(
        "SELECT ordinal, model, content FROM responses WHERE ordinal >= 2 ORDER BY item_id, ordinal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(generated.len(), 4);
    // The models are asked in turn, and each answer keeps the name of the model it came from.
    let models: Vec<&str> = generated
        .iter()
        .map(|(_, m, _)| m.as_deref().unwrap())
        .collect();
    assert_eq!(models, ["gen-a", "gen-b", "gen-a", "gen-b"]);
    for (_, model, content) in &generated {
        assert!(content.starts_with("generated answer"));
        assert!(
            content.ends_with(&format!("by {}", model.as_deref().unwrap())),
            "{content}"
        );
    }
}

/// The real thing: llama.cpp's server with SmolLM2-135M (see TOOLCHAIN notes), when
/// `VERDICT_TEST_LLM_URL` points at it (scripts/test.sh starts one and sets it).
#[sqlx::test]
async fn a_real_local_model_prelabels_a_project(pool: sqlx::PgPool) {
    let Ok(url) = std::env::var("VERDICT_TEST_LLM_URL") else {
        eprintln!("VERDICT_TEST_LLM_URL is not set: skipped (scripts/test.sh sets it)");
        return;
    };
    project(&pool, &url, "smollm2-135m-instruct", 2).await;
    settings(&pool, &url, "smollm2-135m-instruct", |f| {
        f.timeout_secs = "120".into()
    })
    .await;
    let models = assist::test_connection(&pool, &Actor::cli(), "qa", &defaults())
        .await
        .unwrap();
    assert!(models.iter().any(|m| m.contains("smollm2")), "{models:?}");
    // Every item judged a second time with its answers reversed.
    let job = run_job(&pool, JobKind::Prelabel { swap_share: 1.0 }).await;
    assert_eq!((job.done, job.failed), (2, 0), "{:?}", job.failures);
    let swaps: Vec<(Vec<Uuid>, Value, Vec<Uuid>)> = sqlx::query_as(
        "SELECT s.shown_order, s.ranking,
                (SELECT array_agg(r.response_id ORDER BY r.ordinal) FROM responses r
                 WHERE r.item_id = s.item_id)
         FROM proposal_swaps s",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(swaps.len(), 2);
    for (shown, ranking, mut original) in swaps {
        original.reverse();
        assert_eq!(shown, original, "shown in reverse order");
        assert_eq!(ranking.as_array().unwrap().len(), 2);
    }
    let rows: Vec<(Value, Value, f32)> =
        sqlx::query_as("SELECT ranking, thumbs, confidence FROM proposals WHERE status = 'done'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    for (ranking, thumbs, confidence) in rows {
        assert_eq!(
            ranking.as_array().unwrap().len(),
            2,
            "a full ranking of both answers"
        );
        assert_eq!(thumbs.as_object().unwrap().len(), 2);
        assert!((0.0..=1.0).contains(&confidence));
    }
}

#[sqlx::test]
async fn a_judge_that_always_names_the_second_letter_is_caught_preferring_a_position(
    pool: sqlx::PgPool,
) {
    // The fake always answers "B>A": the answer shown second, in either order.
    let (url, calls) = fake_server(Mode::Good).await;
    project(&pool, &url, "fake-judge", 3).await;
    match assist::start_job(
        &pool,
        &Actor::cli(),
        "qa",
        JobKind::Prelabel { swap_share: 1.5 },
    )
    .await
    {
        Err(verdict::server::Error::Invalid(e)) => {
            assert_eq!(e.field.as_deref(), Some("swap_share"))
        }
        other => panic!("{other:?}"),
    }
    let job = run_job(&pool, JobKind::Prelabel { swap_share: 1.0 }).await;
    assert_eq!((job.done, job.failed), (3, 0), "{:?}", job.failures);
    assert_eq!(calls.load(Ordering::SeqCst), 6, "two judgements per item");
    // An annotator labels every item (the first answer best), so the proposals are compared.
    let app = common::TestApp::new(pool.clone()).await;
    let actor = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    while let Some(t) = labeling::next(&pool, &actor, "qa").await.unwrap() {
        let mut order: Vec<Uuid> = t.answers.iter().map(|a| a.response_id).collect();
        order.sort_by_key(|id| {
            t.answers
                .iter()
                .find(|a| a.response_id == *id)
                .unwrap()
                .ordinal
        });
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: t.item_id,
            body: AnnotationBody {
                ranking: Some(order.iter().map(|id| vec![*id]).collect()),
                ..Default::default()
            },
            shown_order: t.answers.iter().map(|a| a.response_id).collect(),
            time_spent_ms: 500,
            ..Default::default()
        };
        labeling::submit(&pool, &actor, "qa", input).await.unwrap();
    }
    verdict::server::services::quality::count_marked(&pool)
        .await
        .unwrap();
    let report = verdict::server::services::quality::report(&pool, &Actor::cli(), "qa")
        .await
        .unwrap();
    let judge = &report.judges[0];
    assert_eq!(
        (judge.model.as_str(), judge.items, judge.judged),
        ("fake-judge", 3, 3)
    );
    // It put the second answer first where the annotator put the first: wrong every time.
    assert_eq!(judge.accuracy, Some(0.0));
    let position = &judge.position;
    assert_eq!((position.swapped_items, position.compared), (3, 3));
    assert_eq!(
        position.consistent,
        Some(0.0),
        "a different best answer each time"
    );
    let bias = &position.first_shown[0];
    assert_eq!((bias.answers, bias.rankings, bias.first_shown), (2, 6, 0));
    // scipy.stats.binomtest(0, 6, 0.5).pvalue = 2 * (1/2)^6.
    assert!((bias.p_value - 0.03125).abs() < 1e-12, "{}", bias.p_value);
}

/// The project's API key is stored sealed under the deployment's secret key, reaches the
/// inference server as a bearer token, never reaches the browser, and survives a key
/// change through `rekey`; a key stored in plain text before sealing is sealed in place.
#[sqlx::test]
async fn the_api_key_is_stored_sealed_and_never_sent_to_the_browser(pool: sqlx::PgPool) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let app = Router::new()
        .route(
            "/v1/models",
            get(
                |State(seen): State<Arc<std::sync::Mutex<Vec<String>>>>,
                 headers: axum::http::HeaderMap| async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    seen.lock().unwrap().push(auth);
                    Json(json!({"object": "list", "data": [{"id": "m", "object": "model"}]}))
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    project(&pool, &url, "m", 1).await;
    let key = "sk-test-0123456789";
    settings(&pool, &url, "m", |f| f.api_key = key.into()).await;
    let stored: String =
        sqlx::query_scalar("SELECT inference_api_key FROM projects WHERE slug = 'qa'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains(key));
    let models = assist::test_connection(&pool, &Actor::cli(), "qa", &defaults())
        .await
        .unwrap();
    assert_eq!(models, ["m"]);
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {key}")
    );
    // Saving the settings without a key keeps it.
    settings(&pool, &url, "m", |_| {}).await;
    assist::test_connection(&pool, &Actor::cli(), "qa", &defaults())
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {key}")
    );

    // The settings as the browser gets them: "a key is set", neither the key nor its seal.
    let web = common::TestApp::with_config(
        pool.clone(),
        verdict::server::config::AppConfig {
            inference: defaults(),
            ..Default::default()
        },
    )
    .await;
    let admin = web.user("admin@example.org", Role::Admin).await;
    let cookie = web.session_for(&admin.email).await;
    let (status, body) = web
        .server_fn("get_assist_settings", "slug=qa", Some(&cookie))
        .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert_eq!(body["api_key_set"], true, "{body}");
    let text = body.to_string();
    assert!(!text.contains(key) && !text.contains("sealed:"), "{text}");
    let page = common::body_text(web.get("/projects/qa/assist", Some(&cookie)).await).await;
    assert!(!page.contains(key) && !page.contains("sealed:"));

    // Another secret key does not open it, and says so.
    let other = InferenceDefaults {
        secret_key: Some(SecretKey::random()),
        ..defaults()
    };
    let refused = assist::test_connection(&pool, &Actor::cli(), "qa", &other)
        .await
        .unwrap_err();
    // The error names the API key, the setting at fault (not the base URL).
    assert!(
        matches!(&refused, verdict::server::Error::Invalid(e) if e.field.as_deref() == Some("api_key")),
        "{refused:?}"
    );
    let refused = refused.to_string();
    assert!(refused.contains("cannot be opened"), "{refused}");
    // A key change: rekey seals it under the new key (twice is harmless).
    let new = other.secret_key.clone().unwrap();
    assert_eq!(assist::rekey(&pool, &SECRET, &new).await.unwrap(), 1);
    assert_eq!(assist::rekey(&pool, &SECRET, &new).await.unwrap(), 0);
    assist::test_connection(&pool, &Actor::cli(), "qa", &other)
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {key}")
    );
    // ... and with a wrong old key it names the project and changes nothing.
    sqlx::query("UPDATE projects SET inference_api_key = $1 WHERE slug = 'qa'")
        .bind(SecretKey::random().seal(Uuid::nil(), key))
        .execute(&pool)
        .await
        .unwrap();
    assert!(assist::rekey(&pool, &SECRET, &new).await.is_err());

    // A key stored in plain text (before sealing existed) is sealed in place.
    sqlx::query("UPDATE projects SET inference_api_key = $1 WHERE slug = 'qa'")
        .bind(key)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(assist::seal_plain_keys(&pool, &SECRET).await.unwrap(), 1);
    assert_eq!(assist::seal_plain_keys(&pool, &SECRET).await.unwrap(), 0);
    let stored: String =
        sqlx::query_scalar("SELECT inference_api_key FROM projects WHERE slug = 'qa'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(stored.starts_with("sealed:v1:") && !stored.contains(key));
    assist::test_connection(&pool, &Actor::cli(), "qa", &defaults())
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {key}")
    );
    // Too long a key is refused, naming the field.
    let long = AssistForm {
        base_url: url.clone(),
        api_key: "k".repeat(501),
        ..AssistForm::default()
    };
    match assist::update_settings(&pool, &Actor::cli(), "qa", &long, &defaults()).await {
        Err(verdict::server::Error::Invalid(e)) => assert_eq!(e.field.as_deref(), Some("api_key")),
        other => panic!("{other:?}"),
    }
}
