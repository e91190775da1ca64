//! Import and export through the services, against a real database.

use crate::common;

use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput};
use verdict::model::import::ImportFormat;
use verdict::model::user::{NewUser, Role};
use verdict::server::Error;
use verdict::server::dataset::{ExportFormat, ExportOptions, PairStrategy};
use verdict::server::services::export::{ExportFilters, export_jsonl};
use verdict::server::services::import::{ImportOptions, ImportReport, import_file};
use verdict::server::services::{self, Actor, labeling};
use verdict::server::store::projects;

async fn setup(pool: &PgPool) {
    projects::ensure(pool, "p", "P", "").await.unwrap();
}

fn file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(contents).unwrap();
    f
}

async fn import(
    pool: &PgPool,
    contents: &[u8],
    format: Option<ImportFormat>,
    skip: bool,
) -> Result<ImportReport, Error> {
    let f = file(contents);
    import_file(
        pool,
        &Actor::cli(),
        "p",
        f.path(),
        ImportOptions {
            format,
            skip_invalid: skip,
            strict: false,
        },
        Arc::new(AtomicU64::new(0)),
    )
    .await
}

async fn import_with(pool: &PgPool, contents: &str, options: ImportOptions) -> ImportReport {
    let f = file(contents.as_bytes());
    let progress = Arc::new(AtomicU64::new(0));
    import_file(pool, &Actor::cli(), "p", f.path(), options, progress)
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

const VERDICT_JSONL: &str = r#"{"external_id": "q1", "prompt": "Why is the sky blue?", "responses": [{"content": "Rayleigh scattering.", "model": "m1"}, {"content": "Because it reflects the sea."}]}
{"external_id": "q2", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}], "responses": ["4", "5", "22"]}

{"external_id": "q3", "prompt": "Capital of France?", "responses": ["Paris", "Lyon"]}
"#;

#[sqlx::test]
async fn verdict_jsonl_imports_once(pool: PgPool) {
    setup(&pool).await;
    let report = import(&pool, VERDICT_JSONL.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(report.format, ImportFormat::Verdict);
    assert_eq!(
        (
            report.imported,
            report.already_present,
            report.invalid_count
        ),
        (3, 0, 0)
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM responses").await, 7);
    let again = import(&pool, VERDICT_JSONL.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(
        (again.imported, again.already_present),
        (0, 3),
        "idempotent by external_id"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM items").await, 3);
    // The import that stored items is in the audit log; the one that stored none is not.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM audit_log WHERE action = 'items.import' \
             AND (after->>'imported')::int = 3 AND after->>'format' = 'verdict'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM audit_log WHERE action = 'items.import'"
        )
        .await,
        1
    );
    let model: Option<String> =
        sqlx::query_scalar("SELECT model FROM responses WHERE content = 'Rayleigh scattering.'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(model.as_deref(), Some("m1"));
}

#[sqlx::test]
async fn a_bad_line_imports_nothing_unless_skipped(pool: PgPool) {
    setup(&pool).await;
    let bad = format!(
        "{VERDICT_JSONL}{}\n",
        r#"{"prompt": "Only one answer", "responses": ["lonely"]}"#
    );
    let report = import(&pool, bad.as_bytes(), None, false).await.unwrap();
    assert!(!report.committed);
    assert_eq!(report.imported, 0);
    assert_eq!(report.invalid_count, 1);
    assert_eq!(report.invalid[0].line, 5);
    assert_eq!(report.invalid[0].field, "responses");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM items").await,
        0,
        "nothing half-imported"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM audit_log").await,
        0,
        "and nothing recorded"
    );

    let skipped = import(&pool, bad.as_bytes(), None, true).await.unwrap();
    assert!(skipped.committed);
    assert_eq!((skipped.imported, skipped.invalid_count), (3, 1));
}

#[sqlx::test]
async fn gzip_files_import_and_truncated_ones_fail_cleanly(pool: PgPool) {
    setup(&pool).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(VERDICT_JSONL.as_bytes()).unwrap();
    let compressed = gz.finish().unwrap();
    let truncated = &compressed[..compressed.len() - 12];
    let err = import(&pool, truncated, None, false).await.unwrap_err();
    match err {
        Error::Invalid(e) => assert_eq!(e.field.as_deref(), Some("file"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM items").await, 0);
    let report = import(&pool, &compressed, None, false).await.unwrap();
    assert_eq!(report.imported, 3);
}

#[sqlx::test]
async fn non_utf8_and_empty_and_unknown_files_are_refused(pool: PgPool) {
    setup(&pool).await;
    let mut latin1 = br#"{"prompt": "caf"#.to_vec();
    latin1.extend([0xe9]);
    latin1.extend(br#"", "responses": ["a", "b"]}"#);
    latin1.push(b'\n');
    let report = import(&pool, &latin1, Some(ImportFormat::Verdict), false)
        .await
        .unwrap();
    assert_eq!(report.invalid[0].field, "encoding");
    assert!(!report.committed);
    assert!(matches!(
        import(&pool, b"", None, false).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        import(&pool, b"just some words\n", None, false).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(count(&pool, "SELECT count(*) FROM items").await, 0);
}

#[sqlx::test]
async fn trl_hh_openai_and_csv_import(pool: PgPool) {
    setup(&pool).await;
    let trl = r#"{"prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."}
{"prompt": [{"role": "user", "content": "Name a colour"}], "chosen": [{"role": "assistant", "content": "Blue"}], "rejected": [{"role": "assistant", "content": "Seven"}]}
"#;
    assert_eq!(
        import(&pool, trl.as_bytes(), None, false)
            .await
            .unwrap()
            .imported,
        2
    );

    let hh = r#"{"chosen": "\n\nHuman: Hello\n\nAssistant: Hi there\n\nHuman: How are you?\n\nAssistant: Fine, thanks.", "rejected": "\n\nHuman: Hello\n\nAssistant: Hi there\n\nHuman: How are you?\n\nAssistant: Leave me alone."}
"#;
    let report = import(&pool, hh.as_bytes(), None, false).await.unwrap();
    assert_eq!(report.format, ImportFormat::AnthropicHh);
    let turns: i64 = sqlx::query_scalar(
        "SELECT jsonb_array_length(messages)::bigint FROM items WHERE metadata->>'source_format' = 'hh'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(turns, 3, "Human, Assistant, Human before the two answers");

    let openai = r#"{"messages": [{"role": "user", "content": "Best editor?"}, {"role": "assistant", "content": "vim"}]}
{"messages": [{"role": "user", "content": "Best editor?"}, {"role": "assistant", "content": "emacs"}]}
{"messages": [{"role": "user", "content": "Tabs or spaces?"}, {"role": "assistant", "content": "Spaces"}]}
{"messages": [{"role": "user", "content": "Tabs or spaces?"}, {"role": "assistant", "content": "Tabs"}]}
"#;
    let report = import(&pool, openai.as_bytes(), None, false).await.unwrap();
    assert_eq!(report.format, ImportFormat::OpenaiChat);
    assert_eq!(report.imported, 2, "lines sharing a prompt become one item");

    let csv = "id,prompt,answer_1,answer_2,answer_3\nc1,\"Pick, one\",\"A, with comma\",B,\nc2,Why?,\"Because\nof lines\",Dunno,Maybe\n";
    let report = import(&pool, csv.as_bytes(), None, false).await.unwrap();
    assert_eq!(report.format, ImportFormat::Csv);
    assert_eq!(report.imported, 2);
    let c1_answers = count(
        &pool,
        "SELECT count(*) FROM responses r JOIN items i USING (item_id) WHERE i.external_id = 'c1'",
    )
    .await;
    assert_eq!(c1_answers, 2, "the empty third answer is dropped");
    assert_eq!(count(&pool, "SELECT count(*) FROM items").await, 7);
}

async fn annotate(pool: &PgPool) -> Vec<Actor> {
    let mut actors = Vec::new();
    for i in 0..2 {
        let new = NewUser::parse(
            &format!("r{i}@example.org"),
            "R",
            "a long test password",
            Role::Annotator,
        )
        .unwrap();
        let user = services::users::create_account(pool, new).await.unwrap();
        common::join_every_project(pool, &user).await;
        actors.push(Actor::from(&user));
    }
    actors
}

/// Answers of the imported item in original order, by content.
async fn answer_ids(pool: &PgPool, external_id: &str) -> Vec<(Uuid, String)> {
    sqlx::query_as(
        "SELECT r.response_id, r.content FROM responses r JOIN items i USING (item_id)
         WHERE i.external_id = $1 ORDER BY r.ordinal",
    )
    .bind(external_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn export(pool: &PgPool, options: ExportOptions) -> Vec<Value> {
    common::export_records(pool, options).await
}

#[sqlx::test]
async fn round_trip_to_every_export_format(pool: PgPool) {
    setup(&pool).await;
    let line = r#"{"external_id": "q", "prompt": "Q?", "responses": ["Alpha", "Beta", "Gamma"]}"#;
    import(&pool, line.as_bytes(), None, false).await.unwrap();
    let ids = answer_ids(&pool, "q").await;
    let (alpha, beta, gamma) = (ids[0].0, ids[1].0, ids[2].0);
    let people = annotate(&pool).await;
    let task = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let input = AnnotationInput {
        annotation_id: Uuid::new_v4(),
        item_id: task.item_id,
        body: AnnotationBody {
            ranking: Some(vec![vec![beta], vec![alpha], vec![gamma]]),
            thumbs: [(beta, true), (gamma, false)].into_iter().collect(),
            ideal_answer: Some("Beta, improved.".into()),
            ideal_from: Some(beta),
            ..Default::default()
        },
        shown_order: task.answers.iter().map(|a| a.response_id).collect(),
        ..Default::default()
    };
    labeling::submit(&pool, &people[0], "p", input)
        .await
        .unwrap();

    let opts = |format| ExportOptions {
        format,
        ..ExportOptions::default()
    };
    let pairs: HashSet<String> = export(
        &pool,
        ExportOptions {
            from_thumbs: false,
            from_edits: false,
            ..opts(ExportFormat::DpoPairs)
        },
    )
    .await
    .iter()
    .map(|r| {
        assert_eq!(r["prompt"], "Q?");
        assert_eq!(
            r.as_object().unwrap().len(),
            3,
            "exactly prompt, chosen, rejected: {r}"
        );
        format!(
            "{}>{}",
            r["chosen"].as_str().unwrap(),
            r["rejected"].as_str().unwrap()
        )
    })
    .collect();
    let expected: HashSet<String> = ["Beta>Alpha", "Beta>Gamma", "Alpha>Gamma"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(pairs, expected);

    let best: Vec<Value> = export(
        &pool,
        ExportOptions {
            pairs: PairStrategy::BestVsRest,
            from_thumbs: false,
            from_edits: false,
            ..opts(ExportFormat::DpoPairs)
        },
    )
    .await;
    assert_eq!(best.len(), 2);

    let with_edit = export(
        &pool,
        ExportOptions {
            from_thumbs: false,
            ..opts(ExportFormat::DpoPairs)
        },
    )
    .await;
    assert!(
        with_edit
            .contains(&json!({"prompt": "Q?", "chosen": "Beta, improved.", "rejected": "Beta"}))
    );

    let conversational = export(&pool, opts(ExportFormat::DpoConversational)).await;
    assert!(conversational.contains(&json!({
        "prompt": [{"role": "user", "content": "Q?"}],
        "chosen": [{"role": "assistant", "content": "Beta"}],
        "rejected": [{"role": "assistant", "content": "Gamma"}],
    })));

    let kto = export(&pool, opts(ExportFormat::Kto)).await;
    let kto: HashSet<String> = kto.iter().map(|r| r.to_string()).collect();
    let expected_kto: HashSet<String> = [
        json!({"prompt": "Q?", "completion": "Beta", "label": true}),
        json!({"prompt": "Q?", "completion": "Gamma", "label": false}),
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    assert_eq!(kto, expected_kto);

    let sft = export(&pool, opts(ExportFormat::SftMessages)).await;
    assert_eq!(
        sft,
        vec![
            json!({"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "Beta, improved."}]})
        ]
    );
    assert_eq!(export(&pool, opts(ExportFormat::OpenaiSft)).await, sft);
    assert_eq!(
        export(&pool, opts(ExportFormat::SftPromptCompletion)).await,
        vec![json!({"prompt": "Q?", "completion": "Beta, improved."})]
    );

    let openai_pref = export(&pool, opts(ExportFormat::OpenaiPreference)).await;
    assert!(openai_pref.contains(&json!({
        "input": {"messages": [{"role": "user", "content": "Q?"}]},
        "preferred_output": [{"role": "assistant", "content": "Beta"}],
        "non_preferred_output": [{"role": "assistant", "content": "Alpha"}],
    })));

    let hh = export(&pool, opts(ExportFormat::AnthropicHh)).await;
    assert!(hh.contains(&json!({"chosen": "\n\nHuman: Q?\n\nAssistant: Beta", "rejected": "\n\nHuman: Q?\n\nAssistant: Gamma"})));

    let raw = export(&pool, opts(ExportFormat::Raw)).await;
    assert_eq!(raw.len(), 1);
    let annotator = raw[0]["annotator"].as_str().unwrap();
    assert!(
        annotator.starts_with("annotator-") && !annotator.contains(&people[0].user_id.to_string()),
        "pseudonymous"
    );
    assert_eq!(raw[0]["ranking"], json!([[beta], [alpha], [gamma]]));
    assert_eq!(raw[0]["shown_order"].as_array().unwrap().len(), 3);
}

#[sqlx::test]
async fn unknown_projects_and_bad_options_are_refused(pool: PgPool) {
    setup(&pool).await;
    let mut out = Vec::new();
    let err = export_jsonl(
        &pool,
        &Actor::cli(),
        "nope",
        &ExportOptions::default(),
        &ExportFilters::default(),
        &mut out,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    let bad = ExportOptions {
        test_fraction: 1.5,
        ..ExportOptions::default()
    };
    let err = export_jsonl(
        &pool,
        &Actor::cli(),
        "p",
        &bad,
        &ExportFilters::default(),
        &mut out,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
}

/// Items with 0 to 3 annotations in turn, more of them than one page of the exporter
/// holds: every annotation is exported once, with its own item's answers, and every
/// annotated item gives its pair.
#[sqlx::test]
async fn exports_cover_every_annotation_across_pages(pool: PgPool) {
    setup(&pool).await;
    const ITEMS: usize = 4100;
    let lines: String = (0..ITEMS)
        .map(|n| format!("{{\"external_id\": \"q{n}\", \"prompt\": \"Q{n}?\", \"responses\": [\"good {n}\", \"bad {n}\"]}}\n"))
        .collect();
    import(&pool, lines.as_bytes(), None, false).await.unwrap();
    sqlx::query(
        "INSERT INTO users (email, display_name, password_hash)
         SELECT 'u' || g || '@example.org', 'U', 'x' FROM generate_series(1, 3) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    // Item n gets n % 4 annotations, each ranking its first answer over its second.
    sqlx::query(
        "INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, shown_order)
         SELECT gen_random_uuid(), i.item_id, i.project_id, u.user_id,
                jsonb_build_array(jsonb_build_array(r.ids[1]), jsonb_build_array(r.ids[2])), r.ids
         FROM items i
         JOIN (SELECT item_id, array_agg(response_id ORDER BY ordinal) AS ids
               FROM responses GROUP BY item_id) r USING (item_id)
         JOIN (SELECT user_id, row_number() OVER (ORDER BY email) AS n FROM users
               WHERE email LIKE 'u%@example.org') u
           ON u.n <= substr(i.external_id, 2)::int % 4",
    )
    .execute(&pool)
    .await
    .unwrap();
    let annotated = (0..ITEMS).filter(|n| n % 4 > 0).count();
    let annotations: usize = (0..ITEMS).map(|n| n % 4).sum();

    let raw = export(
        &pool,
        ExportOptions {
            format: ExportFormat::Raw,
            ..ExportOptions::default()
        },
    )
    .await;
    assert_eq!(raw.len(), annotations);
    let ids: HashSet<&str> = raw
        .iter()
        .map(|r| r["annotation_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), annotations, "each annotation once");
    // Pages are read by several connections at once and still written in item order.
    let numbers: Vec<usize> = raw
        .iter()
        .map(|r| r["external_id"].as_str().unwrap()[1..].parse().unwrap())
        .collect();
    assert!(numbers.is_sorted(), "records in item order");
    for record in &raw {
        let n = &record["external_id"].as_str().unwrap()[1..];
        let answers: Vec<&str> = record["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["content"].as_str().unwrap())
            .collect();
        assert_eq!(
            answers,
            [format!("good {n}"), format!("bad {n}")],
            "{record}"
        );
    }

    let pairs = export(&pool, ExportOptions::default()).await;
    assert_eq!(pairs.len(), annotated);
    for pair in &pairs {
        let n = &pair["prompt"].as_str().unwrap()[1..].trim_end_matches('?');
        assert_eq!(pair["chosen"], format!("good {n}"));
        assert_eq!(pair["rejected"], format!("bad {n}"));
    }
}

/// Items "a" and "b", each ranked by one annotator.
async fn two_ranked_items(pool: &PgPool) {
    setup(pool).await;
    let lines = "{\"external_id\": \"a\", \"prompt\": \"A?\", \"responses\": [\"yes\", \"no\"]}\n\
                 {\"external_id\": \"b\", \"prompt\": \"B?\", \"responses\": [\"up\", \"down\"]}\n";
    import(pool, lines.as_bytes(), None, false).await.unwrap();
    let person = &annotate(pool).await[0];
    while let Some(task) = labeling::next(pool, person, "p").await.unwrap() {
        let shown: Vec<Uuid> = task.answers.iter().map(|a| a.response_id).collect();
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: task.item_id,
            body: AnnotationBody {
                ranking: Some(shown.iter().map(|id| vec![*id]).collect()),
                ..Default::default()
            },
            shown_order: shown,
            ..Default::default()
        };
        labeling::submit(pool, person, "p", input).await.unwrap();
    }
}

/// Runs the built `verdict` binary on the test's database, with the default log settings.
fn verdict(pool: &PgPool, args: &[&str]) -> std::process::Output {
    let options = pool.connect_options();
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap()
    );
    std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .env_remove("VERDICT_LOG_FORMAT")
        .output()
        .unwrap()
}

/// `verdict export --out -` as an admin pipes it into a file: standard output holds the
/// records and nothing else (logs and the summary go to standard error).
#[sqlx::test]
async fn the_cli_exports_to_standard_output_only_records(pool: PgPool) {
    two_ranked_items(&pool).await;
    let output = verdict(
        &pool,
        &["export", "--project", "p", "--format", "raw", "--out", "-"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let records: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a record ({e}): {l}")))
        .collect();
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(
        stderr.contains("export finished"),
        "the log is on stderr: {stderr}"
    );
    assert!(stderr.contains("exported 2 records"), "{stderr}");
}

/// A failed export leaves the file it was to replace as it was, and no partial file; a
/// successful one replaces it whole.
#[sqlx::test]
async fn a_failed_cli_export_leaves_the_existing_file_alone(pool: PgPool) {
    two_ranked_items(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let jsonl = dir.path().join("pairs.jsonl");
    let parquet = dir.path().join("pairs.parquet");
    std::fs::write(&jsonl, "last week's export\n").unwrap();
    std::fs::write(&parquet, "last week's export\n").unwrap();
    let out = |path: &std::path::Path| path.to_str().unwrap().to_owned();

    let failures = [
        // An unknown project, found only once the export starts.
        [
            "export",
            "--project",
            "nope",
            "--format",
            "dpo_pairs",
            "--out",
            &out(&jsonl),
        ],
        // A format Parquet is not written for.
        [
            "export",
            "--project",
            "p",
            "--format",
            "raw",
            "--out",
            &out(&parquet),
        ],
    ];
    for args in failures {
        let output = verdict(&pool, &args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(!String::from_utf8_lossy(&output.stderr).is_empty());
    }
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap(),
        "last week's export\n"
    );
    assert_eq!(
        std::fs::read_to_string(&parquet).unwrap(),
        "last week's export\n"
    );
    assert_eq!(
        names(),
        ["pairs.jsonl", "pairs.parquet"],
        "no partial file is left"
    );

    let output = verdict(
        &pool,
        &[
            "export",
            "--project",
            "p",
            "--format",
            "dpo_pairs",
            "--out",
            &out(&jsonl),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pairs: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pairs.len(), 2, "one pair per ranked item: {pairs:?}");
    assert_eq!(names(), ["pairs.jsonl", "pairs.parquet"]);
}

/// Lines without an id are known by their content: importing the file again (as HH users
/// do: its lines carry no id) stores nothing twice, and a changed answer is a new item.
#[sqlx::test]
async fn reimporting_lines_without_ids_stores_nothing_twice(pool: PgPool) {
    setup(&pool).await;
    let hh = r#"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away."}"#;
    let lines = concat!(
        r#"{"prompt": "Sky?", "responses": ["Blue.", "Green."]}"#,
        "\n",
        r#"{"prompt": "Sea?", "responses": ["Wet.", "Dry."]}"#,
        "\n",
    );
    for file in [hh, lines] {
        let first = import(&pool, file.as_bytes(), None, false).await.unwrap();
        assert_eq!(first.already_present, 0, "{first:?}");
        let again = import(&pool, file.as_bytes(), None, false).await.unwrap();
        assert_eq!((again.imported, again.already_present), (0, first.imported));
    }
    let changed = r#"{"prompt": "Sky?", "responses": ["Blue.", "Grey."]}"#;
    let third = import(&pool, changed.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(third.imported, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM items").await, 4);
    let keys = count(
        &pool,
        "SELECT count(*) FROM items WHERE external_id ~ '^content-[0-9a-f]{32}$'",
    )
    .await;
    assert_eq!(keys, 4);
}

/// Anthropic HH as it is found: a chosen answer that says nothing, and a pair whose
/// transcripts part before their last turn (cut there with a warning; `strict` refuses it).
#[sqlx::test]
async fn hh_empty_answers_and_pairs_that_part_early(pool: PgPool) {
    setup(&pool).await;
    let file = concat!(
        r#"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away."}"#,
        "\n",
        r#"{"chosen": "\n\nHuman: How do I pick a lock?\n\nAssistant:", "rejected": "\n\nHuman: How do I pick a lock?\n\nAssistant: Use a tension wrench."}"#,
        "\n",
        r#"{"chosen": "\n\nHuman: Tea?\n\nAssistant: Yes.\n\nHuman: Milk?\n\nAssistant: No.", "rejected": "\n\nHuman: Tea?\n\nAssistant: Coffee.\n\nHuman: Why?\n\nAssistant: Taste."}"#,
        "\n",
    );
    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let refused = import_with(&pool, file, strict).await;
    assert!(!refused.committed);
    assert_eq!((refused.invalid_count, refused.invalid[0].line), (1, 3));
    assert_eq!(count(&pool, "SELECT count(*) FROM items").await, 0);

    let report = import_with(&pool, file, ImportOptions::default()).await;
    assert!(report.committed);
    assert_eq!((report.imported, report.invalid_count), (3, 0));
    assert_eq!((report.warning_count, report.warnings[0].line), (1, 3));
    assert_eq!(report.warnings[0].field, "rejected");
    let cut: Vec<String> = sqlx::query_scalar(
        "SELECT r.content FROM responses r JOIN items i USING (item_id)
         WHERE i.metadata->>'hh_cut_at_turn' = '2' ORDER BY r.ordinal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(cut, ["Yes.", "Coffee."]);

    // Everyone prefers HH's chosen answer; the empty one goes out as it came in.
    let person = &annotate(&pool).await[0];
    while let Some(task) = labeling::next(&pool, person, "p").await.unwrap() {
        let mut by_ordinal = task.answers.clone();
        by_ordinal.sort_by_key(|a| a.ordinal);
        if task.messages[0].content.contains("lock") {
            assert_eq!(
                by_ordinal[0].content, "",
                "the empty answer reaches the workspace"
            );
        }
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: task.item_id,
            body: AnnotationBody {
                ranking: Some(by_ordinal.iter().map(|a| vec![a.response_id]).collect()),
                ..Default::default()
            },
            shown_order: task.answers.iter().map(|a| a.response_id).collect(),
            ..Default::default()
        };
        labeling::submit(&pool, person, "p", input).await.unwrap();
    }
    let options = |format| ExportOptions {
        format,
        ..ExportOptions::default()
    };
    let hh = export(&pool, options(ExportFormat::AnthropicHh)).await;
    let lock = "\n\nHuman: How do I pick a lock?\n\nAssistant:";
    assert!(hh.iter().any(|r| r["chosen"] == lock), "{hh:?}");
    let dpo = export(&pool, options(ExportFormat::DpoPairs)).await;
    let silent = json!({"prompt": "How do I pick a lock?", "chosen": "", "rejected": "Use a tension wrench."});
    assert!(dpo.contains(&silent), "{dpo:?}");
}
