//! CSV: a header row naming the prompt and answer columns, one item per record.

use super::*;

/// Column indexes of a CSV file, from its header row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvLayout {
    pub prompt: usize,
    pub answers: Vec<usize>,
    pub external_id: Option<usize>,
    pub system: Option<usize>,
    /// One entry per answer: the column holding that answer's model name.
    pub models: Vec<Option<usize>>,
}

/// `base` alone gives `Some(None)`; `base`, an optional `_`/` `/`-`, digits give `Some(Some(n))`.
pub(super) fn numbered(name: &str, base: &str) -> Option<Option<usize>> {
    let rest = name.strip_prefix(base)?;
    if rest.is_empty() {
        return Some(None);
    }
    let digits = rest
        .strip_prefix(|c: char| matches!(c, '_' | ' ' | '-'))
        .unwrap_or(rest);
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if all_digits {
        digits.parse().ok().map(Some)
    } else {
        None
    }
}

/// The first of `wanted` (in preference order) among the lowercased column names.
pub(super) fn find_column(names: &[String], wanted: &[&str]) -> Option<usize> {
    wanted
        .iter()
        .find_map(|w| names.iter().position(|n| n.as_str() == *w))
}

/// From the header row: prompt column named `prompt` (or `question`/`input`), answer columns
/// named `answer`, `answer_1`.., `response_1`.., `completion_1`.. (case-insensitive, in column
/// order), optional `external_id`/`id`, optional `system`, optional `model_1`.. matched to the
/// answer with the same number. Error (line 1) names what is missing.
pub fn csv_layout(header: &[String]) -> Result<CsvLayout, LineError> {
    let clean = |h: &String| h.trim_start_matches('\u{feff}').trim().to_lowercase();
    let names: Vec<String> = header.iter().map(clean).collect();
    layout_of(&names).map_err(at(1))
}

pub(super) fn layout_of(names: &[String]) -> Result<CsvLayout, Fail> {
    let prompt = find_column(names, &["prompt", "question", "input"]);
    let prompt =
        prompt.ok_or_else(|| bad("prompt", "no column named prompt, question or input"))?;
    let (mut answers, mut numbers) = (Vec::new(), Vec::new());
    for (col, name) in names.iter().enumerate() {
        let bases = ["answer", "response", "completion"];
        if let Some(n) = bases.iter().find_map(|b| numbered(name, b)) {
            numbers.push(n.unwrap_or(answers.len() + 1));
            answers.push(col);
        }
    }
    if answers.len() < 2 {
        return fail(
            "answers",
            "need 2 or more answer columns: answer_1, answer_2, …",
        );
    }
    let mut models = vec![None; answers.len()];
    for (col, name) in names.iter().enumerate() {
        if let Some(Some(n)) = numbered(name, "model") {
            let k = numbers.iter().position(|&x| x == n);
            models[k.ok_or_else(|| bad(name, "has no answer column with its number"))?] = Some(col);
        }
    }
    let external_id = find_column(names, &["external_id", "id"]);
    let system = find_column(names, &["system"]);
    Ok(CsvLayout {
        prompt,
        answers,
        external_id,
        system,
        models,
    })
}

/// One CSV record (already split into fields; missing cells count as empty). Empty answer
/// cells are dropped, so items may have 2 to 8 answers.
pub fn parse_csv_record(
    layout: &CsvLayout,
    line: usize,
    record: &[String],
) -> Result<NewItem, LineError> {
    let cell = |i: usize| record.get(i).map_or("", |s| s.as_str());
    let nonblank = |i: Option<usize>| {
        let text = i.map(cell).map(str::trim);
        text.filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let mut messages = Vec::new();
    if let Some(content) = nonblank(layout.system) {
        messages.push(Message {
            role: ChatRole::System,
            content,
        });
    }
    messages.push(user(cell(layout.prompt).to_owned()));
    let mut responses = Vec::new();
    for (k, &col) in layout.answers.iter().enumerate() {
        if !cell(col).trim().is_empty() {
            let model = nonblank(layout.models.get(k).copied().flatten());
            responses.push(NewResponse {
                model,
                content: cell(col).to_owned(),
            });
        }
    }
    let external_id = nonblank(layout.external_id);
    validate_at(
        line,
        NewItem {
            external_id,
            messages,
            responses,
            metadata: json!({}),
            gold: None,
        },
    )
}
