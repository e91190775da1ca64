//! A version's dataset card: one folder, delivered as a plain `.tar` (no compressor whose
//! output could change between builds), that Hugging Face `datasets.load_dataset(folder)`
//! reads as is: `data/train.jsonl` (and `data/test.jsonl` when the spec splits), a
//! `README.md` whose YAML front matter names the configs and data files, and the lineage in
//! its body and in `manifest.json`. Every byte follows from the manifest and the records, so
//! making it again gives the same file.

use super::spec::ExportFormat;
use super::version::Manifest;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Writes the card archive to `out` from the records already written per split.
pub fn write(out: &Path, manifest: &Manifest, train: &Path, test: &Path) -> Result<()> {
    // The card cannot hold its own digest.
    let mut manifest = manifest.clone();
    manifest.files.remove("card");
    let folder = format!(
        "{}-{}-v{}",
        manifest.project, manifest.name, manifest.version
    );
    let has_test = std::fs::metadata(test)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let mtime = manifest.created_at.timestamp().max(0) as u64;
    let mut add = |path: String, size: u64, data: &mut dyn std::io::Read| -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, &path, data)
            .with_context(|| format!("writing {path} into the card"))
    };
    let readme = readme(&manifest, has_test);
    add(
        format!("{folder}/README.md"),
        readme.len() as u64,
        &mut readme.as_bytes(),
    )?;
    let json = serde_json::to_vec_pretty(&manifest)?;
    add(
        format!("{folder}/manifest.json"),
        json.len() as u64,
        &mut json.as_slice(),
    )?;
    let mut splits = vec![("train", train)];
    if has_test {
        splits.push(("test", test));
    }
    for (split, path) in splits {
        let size = std::fs::metadata(path)?.len();
        let mut data = std::fs::File::open(path)?;
        add(format!("{folder}/data/{split}.jsonl"), size, &mut data)?;
    }
    tar.into_inner()
        .context("finishing the card")?
        .into_inner()
        .map_err(|e| e.into_error())
        .context("finishing the card")?
        .sync_all()
        .context("finishing the card")?;
    Ok(())
}

fn size_category(rows: u64) -> &'static str {
    match rows {
        0..1_000 => "n<1K",
        1_000..10_000 => "1K<n<10K",
        10_000..100_000 => "10K<n<100K",
        100_000..1_000_000 => "100K<n<1M",
        1_000_000..10_000_000 => "1M<n<10M",
        10_000_000..100_000_000 => "10M<n<100M",
        _ => "100M<n<1B",
    }
}

fn task_categories(format: ExportFormat) -> &'static [&'static str] {
    match format {
        ExportFormat::SftMessages | ExportFormat::SftPromptCompletion | ExportFormat::OpenaiSft => {
            &["text-generation"]
        }
        ExportFormat::Raw => &["text-generation", "text-classification"],
        _ => &["text-generation", "reinforcement-learning"],
    }
}

/// YAML-quoted text (JSON strings are valid YAML).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// The README: YAML front matter for `datasets`, then the lineage for people.
pub fn readme(manifest: &Manifest, has_test: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "---");
    let _ = writeln!(
        s,
        "pretty_name: {}",
        quoted(&format!("{} {}", manifest.project, manifest.label()))
    );
    let _ = writeln!(s, "configs:");
    let _ = writeln!(s, "- config_name: default");
    let _ = writeln!(s, "  data_files:");
    let _ = writeln!(s, "  - split: train");
    let _ = writeln!(s, "    path: data/train.jsonl");
    if has_test {
        let _ = writeln!(s, "  - split: test");
        let _ = writeln!(s, "    path: data/test.jsonl");
    }
    let _ = writeln!(s, "license: other");
    let _ = writeln!(s, "task_categories:");
    for task in task_categories(manifest.format) {
        let _ = writeln!(s, "- {task}");
    }
    let _ = writeln!(s, "size_categories:");
    let _ = writeln!(s, "- {}", size_category(manifest.counts.records));
    let _ = writeln!(s, "tags:");
    let _ = writeln!(s, "- human-feedback");
    let _ = writeln!(s, "- verdict");
    let _ = writeln!(s, "- {}", manifest.format.as_str());
    let _ = writeln!(s, "---");
    let _ = writeln!(s);
    let _ = writeln!(s, "# {} {}", manifest.project, manifest.label());
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Human feedback exported by Verdict as `{}` ({}). Made by {} at {}, from an \
         immutable dataset version: downloading it again gives the same bytes.",
        manifest.format.as_str(),
        manifest.format.label(),
        manifest.created_by,
        manifest
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "```python");
    let _ = writeln!(s, "from datasets import load_dataset");
    let _ = writeln!(s, "ds = load_dataset(\"path/to/this/folder\")");
    let _ = writeln!(s, "```");
    let _ = writeln!(s);
    let _ = writeln!(s, "## Contents");
    let _ = writeln!(s);
    let c = &manifest.counts;
    let _ = writeln!(s, "| | items | records |");
    let _ = writeln!(s, "|---|---:|---:|");
    for (split, counts) in &c.splits {
        let _ = writeln!(s, "| {split} | {} | {} |", counts.items, counts.records);
    }
    let _ = writeln!(s, "| all | {} | {} |", c.items, c.records);
    let _ = writeln!(s);
    let _ = writeln!(s, "Annotations: {}.", c.annotations);
    if let Some(pairs) = c.pairs {
        let _ = writeln!(s, "Preference pairs: {pairs}.");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## How it was made");
    let _ = writeln!(s);
    let _ = writeln!(s, "- Export spec: `{}`", manifest.spec);
    let _ = writeln!(s, "- Consensus: {}", manifest.consensus);
    let _ = writeln!(s);
    let _ = writeln!(s, "### Annotators (pseudonymous)");
    let _ = writeln!(s);
    let _ = writeln!(s, "| annotator | source | labels |");
    let _ = writeln!(s, "|---|---|---:|");
    for a in &manifest.annotators {
        let _ = writeln!(s, "| {} | {} | {} |", a.annotator, a.source, a.labels);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "### Guideline versions");
    let _ = writeln!(s);
    let _ = writeln!(s, "| guidelines | labels |");
    let _ = writeln!(s, "|---|---:|");
    for g in &manifest.guidelines {
        let version = g
            .version
            .map_or("before versions were kept".to_owned(), |v| format!("v{v}"));
        let _ = writeln!(s, "| {version} | {} |", g.labels);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "### Model proposals");
    let _ = writeln!(s);
    if manifest.proposals.is_empty() {
        let _ = writeln!(s, "No label was made with a model's proposal shown.");
    } else {
        let _ = writeln!(
            s,
            "| model | labels with a proposal shown | accepted as proposed |"
        );
        let _ = writeln!(s, "|---|---:|---:|");
        for p in &manifest.proposals {
            let _ = writeln!(s, "| {} | {} | {} |", p.model, p.shown, p.accepted);
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "### Files");
    let _ = writeln!(s);
    for (kind, f) in &manifest.files {
        let _ = writeln!(
            s,
            "- {kind}: `{}`, {} bytes, SHA-256 `{}`",
            f.name, f.bytes, f.sha256
        );
    }
    s
}
