//! Parsing of import files (JSON Lines in several dataset formats, or CSV records already
//! split into fields) into [`NewItem`]s, each checked with [`NewItem::validate`].

use crate::model::AppError;
use crate::model::project::{ChatRole, Message, NewItem, NewResponse};
use serde_json::{Map, Value, json};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Verdict,
    TrlPreference,
    AnthropicHh,
    OpenaiChat,
    Csv,
}

impl ImportFormat {
    /// Accepts `verdict`, `trl`, `hh`, `openai`, `csv` and the snake_case names.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "verdict" => Some(Self::Verdict),
            "trl" | "trl_preference" => Some(Self::TrlPreference),
            "hh" | "anthropic_hh" => Some(Self::AnthropicHh),
            "openai" | "openai_chat" => Some(Self::OpenaiChat),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Verdict => "Verdict JSONL",
            Self::TrlPreference => "TRL preference",
            Self::AnthropicHh => "Anthropic HH",
            Self::OpenaiChat => "OpenAI chat",
            Self::Csv => "CSV",
        }
    }
}

/// A problem with one line (or CSV record) of an import file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

impl std::error::Error for LineError {}

/// (field, message), before the line number is attached.
type Fail = (String, String);
type Obj = Map<String, Value>;

fn bad(field: impl Into<String>, message: impl Into<String>) -> Fail {
    (field.into(), message.into())
}

fn fail<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Fail> {
    Err(bad(field, message))
}

fn at(line: usize) -> impl Fn(Fail) -> LineError {
    move |(field, message): Fail| LineError {
        line,
        field,
        message,
    }
}

/// Checks a finished item; its error becomes a [`LineError`] with the same field.
pub fn validate_at(line: usize, item: NewItem) -> Result<NewItem, LineError> {
    let to_fail = |e: AppError| (e.field.unwrap_or_else(|| "item".into()), e.message);
    item.validate().map_err(to_fail).map_err(at(line))?;
    Ok(item)
}

fn parse_object(text: &str) -> Result<Obj, Fail> {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => fail("json", "each line must be a JSON object"),
        Err(e) => fail("json", format!("invalid JSON: {e}")),
    }
}

/// Detects a JSON Lines format from the first non-empty line's JSON object keys.
pub fn detect_jsonl(first_line: &str) -> Option<ImportFormat> {
    let obj = parse_object(first_line).ok()?;
    let has = |key: &str| obj.contains_key(key);
    if has("chosen") && has("rejected") {
        let transcript = obj.get("chosen").and_then(Value::as_str);
        let hh = !has("prompt") && transcript.is_some_and(|t| t.contains("Human:"));
        Some(if hh {
            ImportFormat::AnthropicHh
        } else {
            ImportFormat::TrlPreference
        })
    } else if has("responses") {
        Some(ImportFormat::Verdict)
    } else if has("messages") {
        Some(ImportFormat::OpenaiChat)
    } else {
        None
    }
}

const GROUP_OPENAI: &str = "holds one answer: group lines with equal prompts, or add \"responses\"";

/// Parses one JSON line into a validated item. `OpenaiChat` lines hold one answer each, so
/// they only parse here with an extra `responses` array; otherwise see [`openai_chat_parts`].
pub fn parse_jsonl_line(
    format: ImportFormat,
    line: usize,
    text: &str,
) -> Result<NewItem, LineError> {
    let obj = parse_object(text).map_err(at(line))?;
    let item = match format {
        ImportFormat::Verdict => verdict(&obj),
        ImportFormat::TrlPreference => trl(&obj),
        ImportFormat::AnthropicHh => hh(&obj),
        ImportFormat::OpenaiChat if obj.contains_key("responses") => verdict(&obj),
        ImportFormat::OpenaiChat => fail("messages", GROUP_OPENAI),
        ImportFormat::Csv => fail("format", "CSV is not JSON Lines"),
    };
    validate_at(line, item.map_err(at(line))?)
}

/// What an import did: stored, skipped, and every invalid line (the first 100 in full).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    pub format: ImportFormat,
    pub lines: usize,
    /// Items stored (0 when the import was refused).
    pub imported: usize,
    /// Items whose `external_id` the project already had.
    pub already_present: usize,
    pub invalid_count: usize,
    pub invalid: Vec<LineError>,
    /// False when invalid lines made the import store nothing.
    pub committed: bool,
}

/// Parses one item of Verdict's own schema given as a JSON value (an API push); `index` is
/// reported in place of a line number.
pub fn parse_verdict_item(index: usize, value: &Value) -> Result<NewItem, LineError> {
    let obj = match value {
        Value::Object(map) => map,
        _ => return Err(at(index)(bad("item", "must be a JSON object"))),
    };
    validate_at(index, verdict(obj).map_err(at(index))?)
}

/// (prompt messages, the answer, external id) of one OpenAI chat line.
pub type ChatParts = (Vec<Message>, NewResponse, Option<String>);

/// Splits an OpenAI chat line `{"messages": [...]}`: the messages before the final assistant
/// message are the prompt, that message is the answer (`model` from a top-level `"model"`).
/// The caller groups consecutive lines with equal prompts into one item (2 to 8 answers) and
/// checks it with [`validate_at`].
pub fn openai_chat_parts(line: usize, text: &str) -> Result<ChatParts, LineError> {
    openai_parts(&parse_object(text).map_err(at(line))?).map_err(at(line))
}

fn openai_parts(obj: &Obj) -> Result<ChatParts, Fail> {
    let list = obj
        .get("messages")
        .ok_or_else(|| bad("messages", "missing"))?;
    let mut messages = parse_messages(list, "messages")?;
    let last = messages.pop().filter(|m| m.role == ChatRole::Assistant);
    let content = last
        .ok_or_else(|| bad("messages", "must end with an assistant answer"))?
        .content;
    if messages.is_empty() {
        return fail("messages", "needs a prompt before the answer");
    }
    let model = optional_string(obj, "model")?;
    Ok((
        messages,
        NewResponse { model, content },
        external_id(obj, &["external_id", "id"])?,
    ))
}

fn user(content: String) -> Message {
    Message {
        role: ChatRole::User,
        content,
    }
}

fn answer(content: String) -> NewResponse {
    NewResponse {
        model: None,
        content,
    }
}

fn parse_role(role: &str) -> Option<ChatRole> {
    match role.trim().to_ascii_lowercase().as_str() {
        "system" => Some(ChatRole::System),
        "user" | "human" => Some(ChatRole::User),
        "assistant" | "gpt" | "bot" | "model" => Some(ChatRole::Assistant),
        _ => None,
    }
}

/// A string, or OpenAI content parts `[{"type": "text", "text": ..}]` joined by newlines.
fn text_content(value: Option<&Value>, field: &str) -> Result<String, Fail> {
    match value {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let text = |p: &Value| p.get("text").and_then(Value::as_str).map(str::to_owned);
            let texts: Option<Vec<String>> = parts.iter().map(text).collect();
            Ok(texts
                .ok_or_else(|| bad(field, "only text parts are supported"))?
                .join("\n"))
        }
        None | Some(Value::Null) => fail(field, "missing"),
        Some(_) => fail(field, "must be a string"),
    }
}

/// `[{"role", "content"}, ..]`; ShareGPT's `from`/`value` keys are accepted too.
fn parse_messages(value: &Value, field: &str) -> Result<Vec<Message>, Fail> {
    let list = value
        .as_array()
        .ok_or_else(|| bad(field, "must be an array of messages"))?;
    let mut messages = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let role = m
            .get("role")
            .or_else(|| m.get("from"))
            .and_then(Value::as_str);
        let role = role.and_then(parse_role).ok_or_else(|| {
            bad(
                format!("{field}[{i}].role"),
                "must be system, user or assistant",
            )
        })?;
        let content = m.get("content").or_else(|| m.get("value"));
        let content = text_content(content, &format!("{field}[{i}].content"))?;
        messages.push(Message { role, content });
    }
    Ok(messages)
}

fn optional_string(obj: &Obj, key: &str) -> Result<Option<String>, Fail> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => fail(key, "must be a string"),
    }
}

/// The first present key of `keys`, as a string (numbers are converted).
fn external_id(obj: &Obj, keys: &[&str]) -> Result<Option<String>, Fail> {
    for &key in keys {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(Value::Number(n)) => return Ok(Some(n.to_string())),
            Some(_) => return fail(key, "must be a string or number"),
        }
    }
    Ok(None)
}

const VERDICT_KEYS: [&str; 5] = ["messages", "prompt", "responses", "external_id", "metadata"];
const UNKNOWN_KEY: &str = "unknown key (use messages or prompt, responses, external_id, metadata)";

fn verdict(obj: &Obj) -> Result<NewItem, Fail> {
    if let Some(key) = obj.keys().find(|k| !VERDICT_KEYS.contains(&k.as_str())) {
        return fail(key, UNKNOWN_KEY);
    }
    let messages = match (obj.get("messages"), obj.get("prompt")) {
        (Some(m), None) => parse_messages(m, "messages")?,
        (None, Some(p)) => vec![user(text_content(Some(p), "prompt")?)],
        _ => return fail("messages", "give either messages or prompt"),
    };
    let list = obj.get("responses").and_then(Value::as_array);
    let list = list.ok_or_else(|| bad("responses", "must be an array of answers"))?;
    let responses = list.iter().enumerate().map(|(i, r)| parse_response(r, i));
    let responses = responses.collect::<Result<Vec<_>, _>>()?;
    // A non-object is reported by `validate`.
    let metadata = obj.get("metadata").filter(|m| !m.is_null()).cloned();
    let metadata = metadata.unwrap_or_else(|| json!({}));
    let external_id = external_id(obj, &["external_id"])?;
    Ok(NewItem {
        external_id,
        messages,
        responses,
        metadata,
    })
}

fn parse_response(value: &Value, i: usize) -> Result<NewResponse, Fail> {
    let field = format!("responses[{i}]");
    match value {
        Value::String(s) => Ok(answer(s.clone())),
        Value::Object(m) => {
            if let Some(k) = m
                .keys()
                .find(|k| !matches!(k.as_str(), "content" | "model"))
            {
                return fail(format!("{field}.{k}"), "unknown key (use content, model)");
            }
            let model = optional_string(m, "model").map_err(|e| (format!("{field}.model"), e.1))?;
            let content = text_content(m.get("content"), &format!("{field}.content"))?;
            Ok(NewResponse { model, content })
        }
        _ => fail(field, "must be a string or {content, model}"),
    }
}

fn assistant_text(messages: &[Message], field: &str) -> Result<String, Fail> {
    let assistant = messages.iter().filter(|m| m.role == ChatRole::Assistant);
    let texts: Vec<&str> = assistant.map(|m| m.content.as_str()).collect();
    if texts.is_empty() {
        return fail(field, "has no assistant message");
    }
    Ok(texts.join("\n\n"))
}

/// A TRL answer: a string, or messages whose assistant contents are joined.
fn trl_answer(obj: &Obj, field: &str) -> Result<String, Fail> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => assistant_text(&parse_messages(v, field)?, field),
        None => fail(field, "missing"),
    }
}

fn trl(obj: &Obj) -> Result<NewItem, Fail> {
    let messages = match obj.get("prompt") {
        Some(Value::String(p)) => vec![user(p.clone())],
        Some(p) => parse_messages(p, "prompt")?,
        None => return trl_implicit(obj),
    };
    let chosen = trl_answer(obj, "chosen")?;
    pair_item(obj, messages, chosen, trl_answer(obj, "rejected")?, "trl")
}

/// No prompt: chosen and rejected are whole conversations whose shared prefix is the prompt.
fn trl_implicit(obj: &Obj) -> Result<NewItem, Fail> {
    let conversation = |field: &str| match obj.get(field) {
        Some(Value::String(_)) => fail("prompt", "missing"),
        Some(v) => parse_messages(v, field),
        None => fail(field, "missing"),
    };
    let (c, r) = (conversation("chosen")?, conversation("rejected")?);
    let shared = c.iter().zip(&r).take_while(|(a, b)| a == b).count();
    let k = shared
        .min(c.len().saturating_sub(1))
        .min(r.len().saturating_sub(1));
    if k == 0 {
        return fail("prompt", "chosen and rejected share no prompt messages");
    }
    let tail = |rest: &[Message], field: &str| {
        if rest.iter().all(|m| m.role == ChatRole::Assistant) {
            assistant_text(rest, field)
        } else {
            fail(
                field,
                "must differ from the other only in the final assistant turn",
            )
        }
    };
    let chosen = tail(&c[k..], "chosen")?;
    pair_item(
        obj,
        c[..k].to_vec(),
        chosen,
        tail(&r[k..], "rejected")?,
        "trl",
    )
}

fn pair_item(
    obj: &Obj,
    messages: Vec<Message>,
    chosen: String,
    rejected: String,
    source: &str,
) -> Result<NewItem, Fail> {
    Ok(NewItem {
        external_id: external_id(obj, &["external_id", "id"])?,
        messages,
        responses: vec![answer(chosen), answer(rejected)],
        metadata: json!({"source_format": source, "chosen_index": 0}),
    })
}

const HUMAN: &str = "\n\nHuman:";
const ASSISTANT: &str = "\n\nAssistant:";

/// The next turn marker in `s`: (position, marker length, role).
fn next_marker(s: &str) -> Option<(usize, usize, ChatRole)> {
    let h = s.find(HUMAN).map(|p| (p, HUMAN.len(), ChatRole::User));
    let a = s
        .find(ASSISTANT)
        .map(|p| (p, ASSISTANT.len(), ChatRole::Assistant));
    match (h, a) {
        (Some(h), Some(a)) => Some(if h.0 <= a.0 { h } else { a }),
        (h, a) => h.or(a),
    }
}

/// Splits an HH transcript into trimmed turns; `None` if text precedes the first marker.
fn hh_turns(text: &str) -> Option<Vec<Message>> {
    let text = format!("\n\n{}", text.trim_start());
    let (mut rest, mut role, mut turns) = (text.as_str(), None, Vec::new());
    loop {
        let next = next_marker(rest);
        let content = rest[..next.map_or(rest.len(), |n| n.0)].trim();
        match role {
            Some(role) => turns.push(Message {
                role,
                content: content.to_owned(),
            }),
            None if !content.is_empty() => return None,
            None => {}
        }
        let Some((pos, len, next_role)) = next else {
            return Some(turns);
        };
        role = Some(next_role);
        rest = &rest[pos + len..];
    }
}

fn hh(obj: &Obj) -> Result<NewItem, Fail> {
    let side = |field: &str| -> Result<(Vec<Message>, String), Fail> {
        let turns = obj.get(field).and_then(Value::as_str).and_then(hh_turns);
        let mut turns =
            turns.ok_or_else(|| bad(field, "must be a \"\\n\\nHuman: …\" transcript"))?;
        match turns.pop() {
            Some(last) if last.role == ChatRole::Assistant => Ok((turns, last.content)),
            _ => fail(field, "has no final Assistant turn"),
        }
    };
    let ((messages, chosen), (prefix, rejected)) = (side("chosen")?, side("rejected")?);
    if prefix != messages {
        return fail(
            "rejected",
            "differs from chosen before the final Assistant turn",
        );
    }
    pair_item(obj, messages, chosen, rejected, "hh")
}

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
fn numbered(name: &str, base: &str) -> Option<Option<usize>> {
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
fn find_column(names: &[String], wanted: &[&str]) -> Option<usize> {
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

fn layout_of(names: &[String]) -> Result<CsvLayout, Fail> {
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
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImportFormat::*;

    /// An expected value, written as JSON (the Verdict shape for items).
    fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    /// (line, field) of a line that must fail.
    fn err(format: ImportFormat, text: &str) -> (usize, String) {
        let e = parse_jsonl_line(format, 9, text).unwrap_err();
        (e.line, e.field)
    }

    fn cells(row: &str) -> Vec<String> {
        row.split(',').map(str::to_owned).collect()
    }

    const HH: &str = r#"{"chosen":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?\n\nAssistant: Why did the chicken cross?","rejected":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?\n\nAssistant: No."}"#;

    #[test]
    fn detects_each_jsonl_format() {
        let cases = [
            (r#"{"prompt":"q","responses":["a","b"]}"#, Some(Verdict)),
            (
                r#"{"prompt":"q","chosen":"a","rejected":"b"}"#,
                Some(TrlPreference),
            ),
            (
                r#"{"chosen":[{"role":"user","content":"q"}],"rejected":[]}"#,
                Some(TrlPreference),
            ),
            (HH, Some(AnthropicHh)),
            (
                r#"{"messages":[{"role":"user","content":"q"}]}"#,
                Some(OpenaiChat),
            ),
            (r#"{"text":"q"}"#, None),
            ("not json", None),
        ];
        for (line, format) in cases {
            assert_eq!(detect_jsonl(line), format, "{line}");
        }
        assert_eq!(ImportFormat::parse("HH"), Some(AnthropicHh));
        assert_eq!(ImportFormat::parse("openai_chat"), Some(OpenaiChat));
    }

    #[test]
    fn parses_verdict_lines() {
        let line = r#"{"external_id":42,"prompt":"Why?","responses":["Because.",{"content":"No idea","model":"m2"}],"metadata":{"topic":"x"}}"#;
        let expected: NewItem = from(json!({
            "external_id": "42", "messages": [{"role": "user", "content": "Why?"}],
            "responses": [{"content": "Because."}, {"model": "m2", "content": "No idea"}],
            "metadata": {"topic": "x"}
        }));
        assert_eq!(parse_jsonl_line(Verdict, 1, line).unwrap(), expected);
        let line = r#"{"messages":[{"role":"system","content":"Be nice"},{"role":"human","content":"Hi"}],"responses":[{"content":"a"},"b"]}"#;
        let expected: NewItem = from(json!({
            "messages": [{"role": "system", "content": "Be nice"}, {"role": "user", "content": "Hi"}],
            "responses": [{"content": "a"}, {"content": "b"}]
        }));
        assert_eq!(parse_jsonl_line(Verdict, 2, line).unwrap(), expected);
    }

    #[test]
    fn parses_trl_standard_form() {
        let line = r#"{"id":7,"prompt":"2+2?","chosen":"4","rejected":"5"}"#;
        let expected: NewItem = from(json!({
            "external_id": "7", "messages": [{"role": "user", "content": "2+2?"}],
            "responses": [{"content": "4"}, {"content": "5"}],
            "metadata": {"source_format": "trl", "chosen_index": 0}
        }));
        assert_eq!(parse_jsonl_line(TrlPreference, 1, line).unwrap(), expected);
    }

    #[test]
    fn parses_trl_conversational_and_implicit_forms() {
        let expected: NewItem = from(json!({
            "messages": [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Sky?"}],
            "responses": [{"content": "Blue."}, {"content": "Green."}],
            "metadata": {"source_format": "trl", "chosen_index": 0}
        }));
        let conversational = r#"{"prompt":[{"role":"system","content":"Be terse"},{"role":"user","content":"Sky?"}],"chosen":[{"role":"assistant","content":"Blue."}],"rejected":[{"role":"assistant","content":"Green."}]}"#;
        let item = parse_jsonl_line(TrlPreference, 1, conversational).unwrap();
        assert_eq!(item, expected);
        let implicit = r#"{"chosen":[{"role":"system","content":"Be terse"},{"role":"user","content":"Sky?"},{"role":"assistant","content":"Blue."}],"rejected":[{"role":"system","content":"Be terse"},{"role":"user","content":"Sky?"},{"role":"assistant","content":"Green."}]}"#;
        assert_eq!(
            parse_jsonl_line(TrlPreference, 1, implicit).unwrap(),
            expected
        );
        let no_shared = r#"{"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}"#;
        assert_eq!(err(TrlPreference, no_shared), (9, "prompt".into()));
    }

    #[test]
    fn parses_multi_turn_hh() {
        let expected: NewItem = from(json!({
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                         {"role": "user", "content": "A joke?"}],
            "responses": [{"content": "Why did the chicken cross?"}, {"content": "No."}],
            "metadata": {"source_format": "hh", "chosen_index": 0}
        }));
        assert_eq!(parse_jsonl_line(AnthropicHh, 1, HH).unwrap(), expected);
        let differing = r#"{"chosen":"\n\nHuman: Hi\n\nAssistant: A","rejected":"\n\nHuman: Hey\n\nAssistant: B"}"#;
        assert_eq!(err(AnthropicHh, differing), (9, "rejected".into()));
        let no_answer = r#"{"chosen":"\n\nHuman: Hi","rejected":"\n\nHuman: Hi\n\nAssistant: B"}"#;
        assert_eq!(err(AnthropicHh, no_answer), (9, "chosen".into()));
    }

    #[test]
    fn openai_lines_split_into_parts() {
        let line = r#"{"id":"c1","model":"gpt","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":"Hello"}]}"#;
        let expected: ChatParts = from(json!([
            [{"role": "user", "content": "Hi"}], {"model": "gpt", "content": "Hello"}, "c1"
        ]));
        assert_eq!(openai_chat_parts(3, line).unwrap(), expected);
        assert_eq!(err(OpenaiChat, line), (9, "messages".into()));
        let grouped = r#"{"messages":[{"role":"user","content":"Hi"}],"responses":["a","b"]}"#;
        assert_eq!(
            parse_jsonl_line(OpenaiChat, 4, grouped)
                .unwrap()
                .responses
                .len(),
            2
        );
        let no_answer = r#"{"messages":[{"role":"user","content":"Hi"}]}"#;
        assert_eq!(
            openai_chat_parts(5, no_answer).unwrap_err().field,
            "messages"
        );
    }

    #[test]
    fn bad_lines_name_line_and_field() {
        let empty = r#"{"prompt":"q","responses":["a",{"content":"  "}]}"#;
        let e = parse_jsonl_line(Verdict, 12, empty).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 12: responses[1].content: must not be empty"
        );
        let typo = r#"{"prompt":"q","responses":["a","b"],"metdata":{}}"#;
        assert_eq!(err(Verdict, typo), (9, "metdata".into()));
        let e = parse_jsonl_line(Verdict, 4, r#"{"prompt": "#).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (4, "json"));
        assert!(e.message.contains("column"), "{}", e.message);
        assert_eq!(err(Verdict, "[1,2]"), (9, "json".into()));
        let missing = r#"{"prompt":"q","chosen":"a"}"#;
        assert_eq!(err(TrlPreference, missing), (9, "rejected".into()));
        let role = r#"{"messages":[{"role":"robot","content":"x"}],"responses":["a","b"]}"#;
        assert_eq!(err(Verdict, role), (9, "messages[0].role".into()));
        let one = r#"{"prompt":"q","responses":["a"]}"#;
        assert_eq!(err(Verdict, one), (9, "responses".into()));
    }

    #[test]
    fn csv_layout_from_header() {
        let layout = csv_layout(&cells("prompt,answer_1,answer_2,model_1,id")).unwrap();
        let (answers, models) = (vec![1, 2], vec![Some(3), None]);
        let expected = CsvLayout {
            prompt: 0,
            answers,
            external_id: Some(4),
            system: None,
            models,
        };
        assert_eq!(layout, expected);
        let e = csv_layout(&cells("text,answer_1,answer_2")).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (1, "prompt"));
        assert_eq!(
            csv_layout(&cells("prompt,answer")).unwrap_err().field,
            "answers"
        );
    }

    #[test]
    fn csv_record_drops_empty_answers() {
        let header = "External_ID,system,Question,Response_1,response_2,response_3,model_2";
        let layout = csv_layout(&cells(header)).unwrap();
        let record = cells("15,Be brief.,Capital of France?,Paris,paris!,, m2 ");
        let expected: NewItem = from(json!({
            "external_id": "15",
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": "Capital of France?"}],
            "responses": [{"content": "Paris"}, {"model": "m2", "content": "paris!"}]
        }));
        assert_eq!(parse_csv_record(&layout, 2, &record).unwrap(), expected);
        let e = parse_csv_record(&layout, 3, &cells("16,,Q?,only one,,")).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "responses"));
    }
}
