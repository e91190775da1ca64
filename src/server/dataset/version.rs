//! Dataset versions: an export spec frozen as exactly the annotation versions, items and
//! answers it selected at one moment. A version's files are made again from its members on
//! every download, byte for byte the same (checked against the SHA-256 recorded when it was
//! made), from any server process; storage is its membership rows, not copies of text.

use super::card;
use super::export::{ExportSummary, Observer, run};
use super::parquet::PairsWriter;
use super::reader::{Source, pseudonym};
use super::record::{ExportItem, ItemRecords};
use super::sink::Sink;
use super::spec::{ExportFormat, ExportOptions, ExportSpec};
use crate::server::Result;
use crate::server::error::Error;
use crate::server::store::datasets;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The files a version downloads as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// All records, one JSON object per line.
    Jsonl,
    /// Preference pairs as Parquet (dpo_pairs and dpo_conversational only).
    Parquet,
    /// A folder (as a .tar) that Hugging Face `datasets.load_dataset` reads: data files
    /// per split and a README.md dataset card with the lineage.
    Card,
}

impl FileKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jsonl" => Some(Self::Jsonl),
            "parquet" => Some(Self::Parquet),
            "card" => Some(Self::Card),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
            Self::Card => "card",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
            Self::Card => "tar",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jsonl => "application/x-ndjson",
            Self::Parquet => "application/vnd.apache.parquet",
            Self::Card => "application/x-tar",
        }
    }
}

/// Everything recorded about a version when it is made: stored as JSON, shown on its page,
/// served by the API, and written into its card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    pub project: String,
    pub name: String,
    pub version: i32,
    /// The export spec, as a query string (what the admin's form or the REST export takes).
    pub spec: String,
    pub format: ExportFormat,
    /// Who made it: a person's email, "cli", or "token <name>".
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub consensus: String,
    pub counts: Counts,
    /// Pseudonymous authors and how many of the version's labels each gave.
    pub annotators: Vec<AuthorLabels>,
    /// Labels per guideline version they were made under (null: before versions were kept).
    pub guidelines: Vec<GuidelineLabels>,
    /// Labels made with a model's proposal shown, per model, and how many accepted it.
    pub proposals: Vec<ProposalLabels>,
    /// The version's files by kind (jsonl, parquet, card): name, size and SHA-256.
    pub files: BTreeMap<String, FileDigest>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub items: u64,
    pub annotations: u64,
    pub records: u64,
    /// Records that are preference pairs (pair formats only).
    pub pairs: Option<u64>,
    /// Items and records per split ("train", and "test" when the spec splits).
    pub splits: BTreeMap<String, SplitCounts>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SplitCounts {
    pub items: u64,
    pub records: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorLabels {
    pub annotator: String,
    pub source: String,
    pub labels: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuidelineLabels {
    pub version: Option<i32>,
    pub labels: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProposalLabels {
    pub model: String,
    pub shown: i64,
    pub accepted: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileDigest {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// "sft-banking v3".
    pub fn label(&self) -> String {
        format!("{} v{}", self.name, self.version)
    }

    pub fn file(&self, kind: FileKind) -> Option<&FileDigest> {
        self.files.get(kind.as_str())
    }

    fn base_name(&self) -> String {
        format!("{}-{}-v{}", self.project, self.name, self.version)
    }
}

/// Checks a version name: lower-case letters, digits, '.', '_', '-', at most 80.
pub fn check_name(name: &str) -> std::result::Result<(), crate::model::AppError> {
    let ok = (1..=80).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(crate::model::AppError::invalid(
            "name",
            "1 to 80 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

/// Who a version was made by, for its row and manifest.
pub struct Creator {
    pub user_id: Option<Uuid>,
    pub label: String,
}

/// What [`create`] needs of the project.
pub struct ProjectRef<'a> {
    pub project_id: Uuid,
    pub slug: &'a str,
}

/// Collects a version's members (and counts labels) while the live export reads them.
#[derive(Default)]
struct Members {
    ords: Vec<i64>,
    items: Vec<Uuid>,
    answers: Vec<String>,
    gold: Vec<bool>,
    annotation_ords: Vec<i64>,
    annotations: Vec<Uuid>,
    versions: Vec<i32>,
    statuses: Vec<Option<String>>,
}

impl Observer for Members {
    fn item(&mut self, item: &ExportItem, _: &ItemRecords<'_>, _: ExportSummary) {
        let ord = self.items.len() as i64 + 1;
        self.ords.push(ord);
        self.items.push(item.item_id);
        let ids: Vec<String> = item
            .answers
            .iter()
            .map(|a| a.response_id.to_string())
            .collect();
        self.answers.push(format!("{{{}}}", ids.join(",")));
        self.gold.push(item.gold.unwrap_or(false));
        for a in &item.annotations {
            self.annotation_ords.push(ord);
            self.annotations.push(a.annotation_id);
            self.versions.push(a.version);
            self.statuses.push(a.annotator_status.clone());
        }
    }
}

/// Counts per split while a version's records are written.
#[derive(Default)]
struct SplitCounter {
    splits: BTreeMap<String, SplitCounts>,
    pairs: u64,
}

impl Observer for SplitCounter {
    fn item(&mut self, _: &ExportItem, records: &ItemRecords<'_>, _: ExportSummary) {
        let mut seen: Vec<&'static str> = Vec::new();
        for record in records.iter() {
            let split = record.split().unwrap_or("train");
            let counts = self.splits.entry(split.to_owned()).or_default();
            counts.records += 1;
            if !seen.contains(&split) {
                seen.push(split);
                counts.items += 1;
            }
            self.pairs += u64::from(record.pair().is_some());
        }
    }
}

/// Rows written per membership statement.
const MEMBER_BATCH: usize = 10_000;

/// Freezes what `spec` selects in the project now as version `number` of `name`, makes
/// its files and records its manifest. Nothing is kept when it fails.
pub async fn create(
    pool: &PgPool,
    project: ProjectRef<'_>,
    name: &str,
    number: i32,
    spec: &ExportSpec,
    creator: &Creator,
) -> Result<Manifest> {
    let (options, filters) = spec.resolve(None)?;
    let source = super::export::live(project.project_id, &filters);
    let mut members = Members::default();
    let selected = run(
        pool,
        project.project_id,
        source,
        &options,
        None,
        &mut Sink::count(0),
        &mut members,
    )
    .await?;
    if selected.items == 0 || selected.records == 0 {
        return Err(Error::invalid(
            "spec",
            format!(
                "selects nothing: {} labeled items and {} records match it",
                selected.items, selected.records
            ),
        ));
    }
    let version_id = Uuid::now_v7();
    let spec_json = serde_json::to_value(spec).map_err(anyhow::Error::from)?;
    let mut tx = pool.begin().await?;
    datasets::insert_version(
        &mut *tx,
        &datasets::NewVersion {
            version_id,
            project_id: project.project_id,
            name,
            version: number,
            spec: &spec_json,
            created_by: creator.user_id,
            created_via: &creator.label,
        },
    )
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid(
            "version",
            format!("{name} v{number} exists already in this project"),
        ),
        _ => e.into(),
    })?;
    for start in (0..members.items.len()).step_by(MEMBER_BATCH) {
        let end = (start + MEMBER_BATCH).min(members.items.len());
        datasets::insert_items(
            &mut *tx,
            version_id,
            &members.ords[start..end],
            &members.items[start..end],
            &members.answers[start..end],
            &members.gold[start..end],
        )
        .await?;
    }
    for start in (0..members.annotations.len()).step_by(MEMBER_BATCH) {
        let end = (start + MEMBER_BATCH).min(members.annotations.len());
        datasets::insert_annotations(
            &mut *tx,
            version_id,
            &members.annotation_ords[start..end],
            &members.annotations[start..end],
            &members.versions[start..end],
            &members.statuses[start..end],
        )
        .await?;
    }
    tx.commit().await?;
    let made = finish(
        pool,
        project,
        version_id,
        name,
        number,
        spec,
        &options,
        creator,
        members.annotations.len() as u64,
    )
    .await;
    if made.is_err() {
        // A version without its manifest is never shown; remove it and its members.
        let _ = datasets::delete(pool, version_id).await;
    }
    made
}

/// Makes the files of a frozen version, and records the manifest.
#[allow(clippy::too_many_arguments)]
async fn finish(
    pool: &PgPool,
    project: ProjectRef<'_>,
    version_id: Uuid,
    name: &str,
    number: i32,
    spec: &ExportSpec,
    options: &ExportOptions,
    creator: &Creator,
    annotations: u64,
) -> Result<Manifest> {
    let project_text = project.project_id.to_string();
    let mut annotators: Vec<AuthorLabels> = datasets::author_counts(pool, version_id)
        .await?
        .into_iter()
        .map(|a| AuthorLabels {
            annotator: pseudonym(
                &a.source,
                a.user_id,
                a.end_user_id.as_deref(),
                &project_text,
            ),
            source: a.source,
            labels: a.labels,
        })
        .collect();
    annotators.sort_by(|a, b| b.labels.cmp(&a.labels).then(a.annotator.cmp(&b.annotator)));
    let guidelines = datasets::guideline_counts(pool, version_id)
        .await?
        .into_iter()
        .map(|(version, labels)| GuidelineLabels { version, labels })
        .collect();
    let proposals = datasets::proposal_counts(pool, version_id)
        .await?
        .into_iter()
        .map(|p| ProposalLabels {
            model: p.model,
            shown: p.shown,
            accepted: p.accepted,
        })
        .collect();
    let mut manifest = Manifest {
        project: project.slug.to_owned(),
        name: name.to_owned(),
        version: number,
        spec: spec.to_query(),
        format: options.format,
        created_by: creator.label.clone(),
        created_at: datasets::created_at(pool, version_id).await?,
        consensus: consensus_method(options),
        counts: Counts {
            annotations,
            ..Counts::default()
        },
        annotators,
        guidelines,
        proposals,
        files: BTreeMap::new(),
    };
    let frozen = Frozen {
        pool,
        version_id,
        project_id: project.project_id,
        options,
    };
    // The data file first: it gives the counts.
    let jsonl = frozen.write(FileKind::Jsonl, &manifest).await?;
    manifest.counts.items = jsonl.summary.items;
    manifest.counts.records = jsonl.summary.records;
    manifest.counts.splits = jsonl.counter.splits.clone();
    manifest.counts.pairs = is_pairs(options.format).then_some(jsonl.counter.pairs);
    let mut files = vec![(FileKind::Jsonl, jsonl)];
    if crate::server::services::export::parquet_supported(options.format) {
        files.push((
            FileKind::Parquet,
            frozen.write(FileKind::Parquet, &manifest).await?,
        ));
    }
    // The card shows the data files' digests, so it is made last.
    for (kind, file) in &files {
        manifest
            .files
            .insert(kind.as_str().to_owned(), file.digest(&manifest, *kind));
    }
    let card = frozen.write(FileKind::Card, &manifest).await?;
    manifest
        .files
        .insert("card".into(), card.digest(&manifest, FileKind::Card));
    let json = serde_json::to_value(&manifest).map_err(anyhow::Error::from)?;
    datasets::set_manifest(pool, version_id, &json).await?;
    tracing::info!(
        project.slug = project.slug,
        dataset = %manifest.label(),
        items = manifest.counts.items,
        records = manifest.counts.records,
        "dataset version made"
    );
    Ok(manifest)
}

fn is_pairs(format: ExportFormat) -> bool {
    !matches!(
        format,
        ExportFormat::Kto
            | ExportFormat::SftMessages
            | ExportFormat::SftPromptCompletion
            | ExportFormat::OpenaiSft
            | ExportFormat::Raw
    )
}

fn consensus_method(options: &ExportOptions) -> String {
    let source = match &options.rubric {
        Some(weights) => format!(
            "Rubric scores: the weighted sum ({}) of each answer's mean score over the \
             annotators",
            weights
                .iter()
                .map(|(key, w)| format!("{key} x {w}"))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
        None => "Borda count over the annotators' rankings (tied answers share the points of \
                 their places)"
            .to_owned(),
    };
    let mut method = format!(
        "{source}; pairs: {}, kept when at least {} of the rankers agree; thumbs pairs: {}; \
         edit pairs: {}; left out: annotations flagged {}",
        options.pairs.as_str(),
        options.min_agreement,
        if options.from_thumbs { "yes" } else { "no" },
        if options.from_edits { "yes" } else { "no" },
        if options.exclude_flags.is_empty() {
            "nothing".to_owned()
        } else {
            options
                .exclude_flags
                .iter()
                .map(|f| format!("{f:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    // Only what is asked for: the cards of versions made before these options stay as
    // they were.
    if options.margin {
        method.push_str(
            "; margin: the mean over the annotators who ranked both of the strength \
             margins between their places (by the scale of the guideline version each \
             label was made under), at least 0; 0 where no strength was given",
        );
    }
    if options.drop_about_same {
        method.push_str("; pairs all of whose strengths say about the same: left out");
    }
    if options.none_acceptable_negatives {
        method.push_str("; none acceptable: every answer a negative");
    }
    method
}

/// A version's file, written to a temporary path.
pub struct MadeFile {
    pub path: TempPath,
    pub bytes: u64,
    pub sha256: String,
    summary: ExportSummary,
    counter: SplitCounter,
}

impl MadeFile {
    fn digest(&self, manifest: &Manifest, kind: FileKind) -> FileDigest {
        FileDigest {
            name: format!("{}.{}", manifest.base_name(), kind.extension()),
            bytes: self.bytes,
            sha256: self.sha256.clone(),
        }
    }
}

/// A file removed when dropped.
pub struct TempPath(pub PathBuf);

impl TempPath {
    fn new(what: &str) -> Self {
        Self(std::env::temp_dir().join(format!("verdict-{what}-{}", Uuid::new_v4())))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Frozen<'a> {
    pool: &'a PgPool,
    version_id: Uuid,
    project_id: Uuid,
    options: &'a ExportOptions,
}

impl Frozen<'_> {
    async fn records(
        &self,
        sink: &mut Sink<'_>,
        counter: &mut SplitCounter,
    ) -> Result<ExportSummary> {
        run(
            self.pool,
            self.project_id,
            Source::Frozen {
                version_id: self.version_id,
            },
            self.options,
            None,
            sink,
            counter,
        )
        .await
    }

    async fn write(&self, kind: FileKind, manifest: &Manifest) -> Result<MadeFile> {
        let path = TempPath::new(kind.as_str());
        let mut counter = SplitCounter::default();
        let summary = match kind {
            FileKind::Jsonl => {
                let file = tokio::fs::File::create(&path.0)
                    .await
                    .context("creating a file")?;
                let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
                self.records(&mut Sink::jsonl(&mut out), &mut counter)
                    .await?
            }
            FileKind::Parquet => {
                let file = std::fs::File::create(&path.0).context("creating a file")?;
                let conversational = self.options.format == ExportFormat::DpoConversational;
                let out: Box<dyn std::io::Write + Send> =
                    Box::new(std::io::BufWriter::with_capacity(1 << 20, file));
                let mut writer = PairsWriter::new(out, conversational, self.options.margin)
                    .context("starting Parquet")?;
                let summary = self
                    .records(&mut Sink::Parquet(&mut writer), &mut counter)
                    .await?;
                writer.finish().context("finishing Parquet")?;
                summary
            }
            FileKind::Card => {
                let train = TempPath::new("train");
                let test = TempPath::new("test");
                let summary = {
                    let open = |p: &Path| {
                        let p = p.to_owned();
                        async move {
                            let file = tokio::fs::File::create(&p)
                                .await
                                .context("creating a file")?;
                            anyhow::Ok(tokio::io::BufWriter::with_capacity(1 << 20, file))
                        }
                    };
                    let (mut train_out, mut test_out) =
                        (open(&train.0).await?, open(&test.0).await?);
                    self.records(
                        &mut Sink::splits(&mut train_out, &mut test_out),
                        &mut counter,
                    )
                    .await?
                };
                let (train_path, test_path) = (train.0.clone(), test.0.clone());
                let out = path.0.clone();
                let manifest = manifest.clone();
                tokio::task::spawn_blocking(move || {
                    card::write(&out, &manifest, &train_path, &test_path)
                })
                .await
                .map_err(anyhow::Error::from)??;
                summary
            }
        };
        let (bytes, sha256) = digest_file(&path.0).await?;
        Ok(MadeFile {
            path,
            bytes,
            sha256,
            summary,
            counter,
        })
    }
}

/// Size and SHA-256 (hex) of a file.
pub async fn digest_file(path: &Path) -> Result<(u64, String)> {
    let path = path.to_owned();
    let digest = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, String)> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            hasher.update(&buf[..n]);
        }
        Ok((bytes, hex(&hasher.finalize())))
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok(digest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a version's file again and checks it against the digest recorded when the version
/// was made: the file, or an error when it differs (it is then not served).
pub async fn remake(
    pool: &PgPool,
    row: &datasets::VersionRow,
    kind: FileKind,
) -> Result<(Manifest, MadeFile)> {
    let manifest: Manifest =
        serde_json::from_value(row.manifest.clone()).context("a version's manifest")?;
    let expected = manifest.file(kind).cloned().ok_or_else(|| {
        Error::invalid(
            "file",
            format!("{} has no {} file", manifest.label(), kind.as_str()),
        )
    })?;
    let spec: ExportSpec = serde_json::from_value(row.spec.clone()).context("a version's spec")?;
    let (options, _) = spec.resolve(None)?;
    let frozen = Frozen {
        pool,
        version_id: row.version_id,
        project_id: row.project_id,
        options: &options,
    };
    let made = frozen.write(kind, &manifest).await?;
    if made.sha256 != expected.sha256 || made.bytes != expected.bytes {
        tracing::error!(
            dataset = %manifest.label(),
            file = kind.as_str(),
            expected = %expected.sha256,
            got = %made.sha256,
            "a dataset version's file differs from the one recorded"
        );
        return Err(Error::Internal(anyhow::anyhow!(
            "{} {} does not match its recorded SHA-256 {}: not served",
            manifest.label(),
            kind.as_str(),
            expected.sha256
        )));
    }
    Ok((manifest, made))
}

/// How two versions of a project differ, record by record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Diff {
    pub from: String,
    pub to: String,
    /// Items only in `to`, with their records.
    pub added: Vec<ItemChange>,
    /// Items only in `from`.
    pub removed: Vec<ItemChange>,
    /// Items in both whose records differ.
    pub changed: Vec<ItemChange>,
    pub records_added: u64,
    pub records_removed: u64,
    /// Annotations only in `to`, only in `from`, and in both at another version.
    pub annotations_added: u64,
    pub annotations_removed: u64,
    pub annotations_changed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemChange {
    pub item_id: Uuid,
    pub external_id: Option<String>,
    /// Records of the item only in `to`.
    pub records_added: u64,
    /// Records of the item only in `from`.
    pub records_removed: u64,
}

/// Each item's records (as JSON lines) by item, while a version is read.
#[derive(Default)]
struct RecordLines {
    items: HashMap<Uuid, (Option<String>, Vec<[u8; 32]>)>,
}

impl Observer for RecordLines {
    fn item(&mut self, item: &ExportItem, records: &ItemRecords<'_>, _: ExportSummary) {
        let mut lines: Vec<[u8; 32]> = records
            .iter()
            .map(|r| Sha256::digest(serde_json::to_vec(&r).unwrap_or_default()).into())
            .collect();
        lines.sort_unstable();
        self.items
            .insert(item.item_id, (item.external_id.clone(), lines));
    }
}

/// Added, removed and changed records between versions `from` and `to` (both of one
/// project), each read with its own spec.
pub async fn diff(
    pool: &PgPool,
    from: &datasets::VersionRow,
    to: &datasets::VersionRow,
) -> Result<Diff> {
    let mut sides = Vec::new();
    for row in [from, to] {
        let spec: ExportSpec =
            serde_json::from_value(row.spec.clone()).context("a version's spec")?;
        let (options, _) = spec.resolve(None)?;
        let mut lines = RecordLines::default();
        run(
            pool,
            row.project_id,
            Source::Frozen {
                version_id: row.version_id,
            },
            &options,
            None,
            &mut Sink::count(0),
            &mut lines,
        )
        .await?;
        sides.push(lines.items);
    }
    let (a, b) = (&sides[0], &sides[1]);
    let mut out = Diff {
        from: format!("{} v{}", from.name, from.version),
        to: format!("{} v{}", to.name, to.version),
        ..Diff::default()
    };
    let count_missing = |mine: &[[u8; 32]], theirs: &[[u8; 32]]| {
        mine.iter()
            .filter(|l| theirs.binary_search(l).is_err())
            .count() as u64
    };
    for (id, (external_id, lines)) in b {
        match a.get(id) {
            None => out.added.push(ItemChange {
                item_id: *id,
                external_id: external_id.clone(),
                records_added: lines.len() as u64,
                records_removed: 0,
            }),
            Some((_, old)) if old != lines => out.changed.push(ItemChange {
                item_id: *id,
                external_id: external_id.clone(),
                records_added: count_missing(lines, old),
                records_removed: count_missing(old, lines),
            }),
            Some(_) => {}
        }
    }
    for (id, (external_id, lines)) in a {
        if !b.contains_key(id) {
            out.removed.push(ItemChange {
                item_id: *id,
                external_id: external_id.clone(),
                records_added: 0,
                records_removed: lines.len() as u64,
            });
        }
    }
    for list in [&mut out.added, &mut out.removed, &mut out.changed] {
        list.sort_by_key(|c| c.item_id);
    }
    out.records_added = out
        .added
        .iter()
        .chain(&out.changed)
        .map(|c| c.records_added)
        .sum();
    out.records_removed = out
        .removed
        .iter()
        .chain(&out.changed)
        .map(|c| c.records_removed)
        .sum();
    for (_, in_a, in_b) in datasets::member_diff(pool, from.version_id, to.version_id).await? {
        match (in_a, in_b) {
            (None, Some(_)) => out.annotations_added += 1,
            (Some(_), None) => out.annotations_removed += 1,
            _ => out.annotations_changed += 1,
        }
    }
    Ok(out)
}
