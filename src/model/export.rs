//! Export: turning annotated items into the JSON records training code reads
//! (TRL DPO / KTO / SFT datasets, OpenAI fine-tuning files, Anthropic HH, raw dumps).
//! Pure functions, no I/O.

use super::annotation::Flag;
use super::project::{ChatRole, Message, ResponseView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One annotation as exported; `annotator` is a pseudonym, `source` "annotator" or "end_user".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportAnnotation {
    pub annotation_id: Uuid,
    pub annotator: String,
    pub source: String,
    /// Best to worst as tiers of answer ids; a tier of several is a tie.
    pub ranking: Option<Vec<Vec<Uuid>>>,
    pub thumbs: BTreeMap<Uuid, bool>,
    pub ideal_answer: Option<String>,
    pub ideal_from: Option<Uuid>,
    pub flags: Vec<Flag>,
    pub comment: Option<String>,
    pub shown_order: Vec<Uuid>,
    pub proposal_id: Option<Uuid>,
    pub time_spent_ms: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An item with its answers (in their original order) and all its annotations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportItem {
    pub item_id: Uuid,
    pub external_id: Option<String>,
    pub messages: Vec<Message>,
    pub answers: Vec<ResponseView>,
    pub annotations: Vec<ExportAnnotation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    DpoPairs,
    DpoConversational,
    Kto,
    SftMessages,
    SftPromptCompletion,
    OpenaiSft,
    OpenaiPreference,
    AnthropicHh,
    Raw,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 9] = [
        Self::DpoPairs,
        Self::DpoConversational,
        Self::Kto,
        Self::SftMessages,
        Self::SftPromptCompletion,
        Self::OpenaiSft,
        Self::OpenaiPreference,
        Self::AnthropicHh,
        Self::Raw,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        self.names().0
    }

    /// A human description.
    pub fn label(self) -> &'static str {
        self.names().1
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::DpoPairs => ("dpo_pairs", "DPO pairs as text (TRL standard)"),
            Self::DpoConversational => ("dpo_conversational", "DPO pairs as messages (TRL)"),
            Self::Kto => ("kto", "KTO: completions labelled by thumbs (TRL)"),
            Self::SftMessages => ("sft_messages", "SFT: conversation + ideal answer (TRL)"),
            Self::SftPromptCompletion => ("sft_prompt_completion", "SFT: prompt + ideal (TRL)"),
            Self::OpenaiSft => ("openai_sft", "OpenAI supervised fine-tuning"),
            Self::OpenaiPreference => ("openai_preference", "OpenAI preference fine-tuning"),
            Self::AnthropicHh => ("anthropic_hh", "Anthropic HH: Human/Assistant transcripts"),
            Self::Raw => ("raw", "Raw annotations with the item's consensus"),
        }
    }
}

/// Which pairs a consensus ranking yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStrategy {
    /// Every two answers in different tiers.
    AllPairs,
    /// Each answer of the top tier over each answer below it.
    BestVsRest,
    /// Each tier over the next one.
    Adjacent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub pairs: PairStrategy,
    /// Keep only consensus pairs that at least this share of the item's rankers agree with
    /// (0.0 = all).
    pub min_agreement: f64,
    /// Add thumbs-up over thumbs-down pairs.
    pub from_thumbs: bool,
    /// Add "edited ideal answer over the answer it was edited from" pairs.
    pub from_edits: bool,
    /// Drop annotations carrying any of these flags, and items where most annotations
    /// carry them (e.g. most annotators found the item not rankable).
    pub exclude_flags: Vec<Flag>,
    /// Share of items in the test split; 0.0 = no split (and no "split" key).
    pub test_fraction: f64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: ExportFormat::DpoPairs,
            pairs: PairStrategy::AllPairs,
            min_agreement: 0.0,
            from_thumbs: true,
            from_edits: true,
            exclude_flags: vec![Flag::Unsafe, Flag::NotRankable],
            test_fraction: 0.0,
        }
    }
}

/// Consensus of several rankings by Borda count. In a ranking over n answers, the answer
/// at position p (0 = best) gets n - 1 - p points; tied answers share the average of the
/// positions their tier spans; answers missing from a ranking get nothing from it.
/// Answers are ordered by total points, highest first; equal totals form one tier, inside
/// which answers keep their order in `answers`.
pub fn consensus(rankings: &[Vec<Vec<Uuid>>], answers: &[Uuid]) -> Vec<Vec<Uuid>> {
    // Doubled points, so that shared half positions stay exact integers.
    let mut points = vec![0i64; answers.len()];
    for ranking in rankings {
        let n: i64 = ranking.iter().map(|tier| tier.len() as i64).sum();
        let mut start = 0i64;
        for tier in ranking {
            let len = tier.len() as i64;
            // Positions start ..= start + len - 1 average start + (len - 1) / 2.
            let doubled = 2 * (n - 1) - (2 * start + len - 1);
            for id in tier {
                if let Some(i) = answers.iter().position(|a| a == id) {
                    points[i] += doubled;
                }
            }
            start += len;
        }
    }
    let mut order: Vec<usize> = (0..answers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(points[i])); // stable: keeps `answers` order
    let mut tiers: Vec<Vec<Uuid>> = Vec::new();
    let mut last: Option<i64> = None;
    for i in order {
        if last == Some(points[i])
            && let Some(tier) = tiers.last_mut()
        {
            tier.push(answers[i]);
        } else {
            tiers.push(vec![answers[i]]);
            last = Some(points[i]);
        }
    }
    tiers
}

/// Share of the rankings containing both answers that put `better` strictly above `worse`
/// (0.0 when none contains both).
pub fn pair_agreement(rankings: &[Vec<Vec<Uuid>>], better: Uuid, worse: Uuid) -> f64 {
    let tier_of = |r: &[Vec<Uuid>], id: Uuid| r.iter().position(|tier| tier.contains(&id));
    let (mut both, mut agree) = (0usize, 0usize);
    for ranking in rankings {
        if let (Some(b), Some(w)) = (tier_of(ranking, better), tier_of(ranking, worse)) {
            both += 1;
            agree += usize::from(b < w);
        }
    }
    if both == 0 {
        0.0
    } else {
        agree as f64 / both as f64
    }
}

/// "train" or "test" for an item, from a stable hash of its id: FNV-1a 64 over the 16 bytes,
/// then the MurmurHash3 finaliser to spread the high bits. The same on every platform and
/// run; the item is "test" when the hash, as a fraction of 2^64, is below `test_fraction`.
pub fn split(item_id: Uuid, test_fraction: f64) -> &'static str {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in item_id.as_bytes() {
        h = (h ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    let fraction = (h >> 11) as f64 / (1u64 << 53) as f64;
    if fraction < test_fraction {
        "test"
    } else {
        "train"
    }
}

/// The records of one item in `opts.format`: exactly the format's keys, plus "split" when
/// `opts.test_fraction > 0.0`.
///
/// Text prompts (DPO standard, KTO, SFT prompt/completion): a conversation of a single user
/// message is that message's content; any other conversation is rendered as
/// "System: …\n\nUser: …\n\nAssistant: …\n\nUser: …" (turns separated by a blank line).
///
/// Excluded annotations (flags among `opts.exclude_flags`) contribute nothing, and an item
/// where more than half of the annotations are excluded yields nothing. Raw ignores both
/// rules and dumps every annotation, with the consensus of the non-excluded rankings
/// (null when there is none).
pub fn records(item: &ExportItem, opts: &ExportOptions) -> Vec<Value> {
    ItemRecords::new(item, opts)
        .iter()
        .map(|record| serde_json::to_value(record).unwrap_or(Value::Null))
        .collect()
}

/// The records of one item, ready to be serialised straight into an output (see
/// [`records`] for what they contain). What the item's records share (the text prompt; for
/// raw, the messages, answers and consensus as JSON) is computed once per item, and each
/// record borrows it, so writing a record allocates nothing.
pub struct ItemRecords<'a> {
    item: &'a ExportItem,
    format: ExportFormat,
    split: Option<&'static str>,
    prompt: String,
    raw: Option<RawParts>,
    bodies: Vec<Body<'a>>,
}

struct RawParts {
    messages: Box<RawValue>,
    answers: Box<RawValue>,
    consensus: Option<Vec<Vec<Uuid>>>,
}

enum Body<'a> {
    /// Raw: one annotation.
    Annotation(&'a ExportAnnotation),
    /// KTO: an answer and its thumb.
    Thumb { completion: &'a str, label: bool },
    /// SFT: an ideal answer.
    Ideal(&'a str),
    /// A preference pair (with the two HH transcripts for Anthropic HH).
    Pair {
        chosen: &'a str,
        rejected: &'a str,
        transcripts: Option<(String, String)>,
    },
}

/// One record of an item: serialises to one JSON object.
pub struct Record<'r, 'a> {
    of: &'r ItemRecords<'a>,
    body: &'r Body<'a>,
}

/// A preference pair as the Parquet writer takes it.
pub struct PairRow<'r> {
    /// The text prompt (DPO standard).
    pub prompt: &'r str,
    /// The conversation (DPO conversational).
    pub conversation: &'r [Message],
    pub chosen: &'r str,
    pub rejected: &'r str,
    pub split: Option<&'static str>,
}

impl<'a> ItemRecords<'a> {
    pub fn new(item: &'a ExportItem, opts: &ExportOptions) -> Self {
        let excluded =
            |a: &ExportAnnotation| a.flags.iter().any(|f| opts.exclude_flags.contains(f));
        let kept: Vec<&ExportAnnotation> =
            item.annotations.iter().filter(|a| !excluded(a)).collect();
        let text_prompt = matches!(
            opts.format,
            ExportFormat::DpoPairs | ExportFormat::Kto | ExportFormat::SftPromptCompletion
        );
        let mut records = ItemRecords {
            item,
            format: opts.format,
            split: (opts.test_fraction > 0.0).then(|| split(item.item_id, opts.test_fraction)),
            prompt: if text_prompt {
                prompt_text(&item.messages)
            } else {
                String::new()
            },
            raw: None,
            bodies: Vec::new(),
        };
        let bodies = &mut records.bodies;
        match opts.format {
            ExportFormat::Raw => {
                let rankings = rankings_of(&kept);
                let ids: Vec<Uuid> = item.answers.iter().map(|a| a.response_id).collect();
                records.raw = Some(RawParts {
                    messages: raw_json(&item.messages),
                    answers: raw_json(&item.answers),
                    consensus: (!rankings.is_empty()).then(|| consensus(&rankings, &ids)),
                });
                bodies.extend(item.annotations.iter().map(Body::Annotation));
            }
            _ if 2 * kept.len() < item.annotations.len() => {}
            ExportFormat::Kto => {
                for a in &kept {
                    for (id, &up) in &a.thumbs {
                        if let Some(text) = answer_text(item, *id) {
                            bodies.push(Body::Thumb {
                                completion: text,
                                label: up,
                            });
                        }
                    }
                }
            }
            ExportFormat::SftMessages
            | ExportFormat::OpenaiSft
            | ExportFormat::SftPromptCompletion => {
                let mut seen: Vec<&str> = Vec::new();
                for ideal in kept.iter().filter_map(|a| a.ideal_answer.as_deref()) {
                    if !seen.contains(&ideal) {
                        seen.push(ideal);
                        bodies.push(Body::Ideal(ideal));
                    }
                }
            }
            format => {
                for (chosen, rejected) in preference_pairs(item, &kept, opts) {
                    let transcripts = (format == ExportFormat::AnthropicHh).then(|| {
                        (
                            hh_text(&item.messages, chosen),
                            hh_text(&item.messages, rejected),
                        )
                    });
                    bodies.push(Body::Pair {
                        chosen,
                        rejected,
                        transcripts,
                    });
                }
            }
        }
        records
    }

    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Record<'_, 'a>> {
        self.bodies.iter().map(|body| Record { of: self, body })
    }
}

impl Record<'_, '_> {
    /// The record as a preference pair, when it is one.
    pub fn pair(&self) -> Option<PairRow<'_>> {
        match self.body {
            Body::Pair {
                chosen, rejected, ..
            } => Some(PairRow {
                prompt: &self.of.prompt,
                conversation: &self.of.item.messages,
                chosen,
                rejected,
                split: self.of.split,
            }),
            _ => None,
        }
    }
}

impl Serialize for Record<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let of = self.of;
        let item = of.item;
        let mut map = s.serialize_map(None)?;
        match self.body {
            Body::Annotation(a) => {
                let Some(raw) = &of.raw else {
                    return Err(S::Error::custom("raw parts missing"));
                };
                map.serialize_entry("item_id", &item.item_id)?;
                map.serialize_entry("external_id", &item.external_id)?;
                map.serialize_entry("annotation_id", &a.annotation_id)?;
                map.serialize_entry("annotator", &a.annotator)?;
                map.serialize_entry("source", &a.source)?;
                map.serialize_entry("messages", &raw.messages)?;
                map.serialize_entry("answers", &raw.answers)?;
                map.serialize_entry("ranking", &a.ranking)?;
                map.serialize_entry("thumbs", &a.thumbs)?;
                map.serialize_entry("ideal_answer", &a.ideal_answer)?;
                map.serialize_entry("ideal_from", &a.ideal_from)?;
                map.serialize_entry("flags", &a.flags)?;
                map.serialize_entry("comment", &a.comment)?;
                map.serialize_entry("shown_order", &a.shown_order)?;
                map.serialize_entry("proposal_id", &a.proposal_id)?;
                map.serialize_entry("time_spent_ms", &a.time_spent_ms)?;
                map.serialize_entry("version", &a.version)?;
                map.serialize_entry("created_at", &a.created_at)?;
                map.serialize_entry("updated_at", &a.updated_at)?;
                map.serialize_entry("consensus", &raw.consensus)?;
            }
            Body::Thumb { completion, label } => {
                map.serialize_entry("prompt", &of.prompt)?;
                map.serialize_entry("completion", completion)?;
                map.serialize_entry("label", label)?;
            }
            Body::Ideal(ideal) if of.format == ExportFormat::SftPromptCompletion => {
                map.serialize_entry("prompt", &of.prompt)?;
                map.serialize_entry("completion", ideal)?;
            }
            Body::Ideal(ideal) => {
                map.serialize_entry("messages", &Conversation(&item.messages, Some(ideal)))?;
            }
            Body::Pair {
                transcripts: Some((chosen, rejected)),
                ..
            } => {
                map.serialize_entry("chosen", chosen)?;
                map.serialize_entry("rejected", rejected)?;
            }
            Body::Pair {
                chosen, rejected, ..
            } => {
                let (c, r) = (
                    Conversation(&[], Some(chosen)),
                    Conversation(&[], Some(rejected)),
                );
                let prompt = Conversation(&item.messages, None);
                match of.format {
                    ExportFormat::DpoConversational => {
                        map.serialize_entry("prompt", &prompt)?;
                        map.serialize_entry("chosen", &c)?;
                        map.serialize_entry("rejected", &r)?;
                    }
                    ExportFormat::OpenaiPreference => {
                        map.serialize_entry("input", &Input(prompt))?;
                        map.serialize_entry("preferred_output", &c)?;
                        map.serialize_entry("non_preferred_output", &r)?;
                    }
                    _ => {
                        map.serialize_entry("prompt", &of.prompt)?;
                        map.serialize_entry("chosen", chosen)?;
                        map.serialize_entry("rejected", rejected)?;
                    }
                }
            }
        }
        if let Some(split) = of.split {
            map.serialize_entry("split", split)?;
        }
        map.end()
    }
}

/// Messages as `[{"role", "content"}…]`, then the assistant's `answer` if any.
struct Conversation<'a>(&'a [Message], Option<&'a str>);

impl Serialize for Conversation<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len() + usize::from(self.1.is_some())))?;
        for message in self.0 {
            seq.serialize_element(&Turn(message.role, &message.content))?;
        }
        if let Some(answer) = self.1 {
            seq.serialize_element(&Turn(ChatRole::Assistant, answer))?;
        }
        seq.end()
    }
}

struct Turn<'a>(ChatRole, &'a str);

impl Serialize for Turn<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("role", self.0.as_str())?;
        map.serialize_entry("content", self.1)?;
        map.end()
    }
}

/// OpenAI's `{"messages": …}` input.
struct Input<'a>(Conversation<'a>);

impl Serialize for Input<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("messages", &self.0)?;
        map.end()
    }
}

/// `value` as JSON text, kept to be written into many records.
fn raw_json<T: Serialize>(value: &T) -> Box<RawValue> {
    // Plain data with string keys always serialises; `null` keeps the type total.
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

fn rankings_of(annotations: &[&ExportAnnotation]) -> Vec<Vec<Vec<Uuid>>> {
    annotations
        .iter()
        .filter_map(|a| a.ranking.clone())
        .collect()
}

/// (chosen, rejected) texts: consensus pairs, then thumbs pairs, then edit pairs; without
/// duplicates or pairs of two identical texts.
fn preference_pairs<'a>(
    item: &'a ExportItem,
    kept: &[&'a ExportAnnotation],
    opts: &ExportOptions,
) -> Vec<(&'a str, &'a str)> {
    let rankings = rankings_of(kept);
    let mut by_id: Vec<(Uuid, Uuid)> = Vec::new();
    let mut place: BTreeMap<Uuid, usize> = BTreeMap::new();
    if !rankings.is_empty() {
        let ids: Vec<Uuid> = item.answers.iter().map(|a| a.response_id).collect();
        let tiers = consensus(&rankings, &ids);
        for (t, tier) in tiers.iter().enumerate() {
            place.extend(tier.iter().map(|id| (*id, t)));
        }
        for (i, upper) in tiers.iter().enumerate() {
            let lower: &[Vec<Uuid>] = match opts.pairs {
                PairStrategy::AllPairs => &tiers[i + 1..],
                PairStrategy::BestVsRest if i == 0 => &tiers[1..],
                PairStrategy::BestVsRest => &[],
                PairStrategy::Adjacent => &tiers[i + 1..(i + 2).min(tiers.len())],
            };
            for (&better, &worse) in upper
                .iter()
                .flat_map(|b| lower.iter().flatten().map(move |w| (b, w)))
            {
                if pair_agreement(&rankings, better, worse) >= opts.min_agreement {
                    by_id.push((better, worse));
                }
            }
        }
    }
    if opts.from_thumbs {
        for a in kept {
            let with = |value: bool| a.thumbs.iter().filter(move |t| *t.1 == value).map(|t| *t.0);
            for up in with(true) {
                for down in with(false) {
                    let contradicts =
                        matches!((place.get(&up), place.get(&down)), (Some(u), Some(d)) if d < u);
                    if !contradicts && !by_id.contains(&(up, down)) {
                        by_id.push((up, down));
                    }
                }
            }
        }
    }
    let mut pairs: Vec<(&'a str, &'a str)> = Vec::new();
    let mut push = |chosen: &'a str, rejected: &'a str| {
        if chosen != rejected && !pairs.contains(&(chosen, rejected)) {
            pairs.push((chosen, rejected));
        }
    };
    for (better, worse) in by_id {
        if let (Some(chosen), Some(rejected)) =
            (answer_text(item, better), answer_text(item, worse))
        {
            push(chosen, rejected);
        }
    }
    for a in kept.iter().filter(|_| opts.from_edits) {
        if let (Some(ideal), Some(from)) = (a.ideal_answer.as_deref(), a.ideal_from)
            && let Some(original) = answer_text(item, from)
            && ideal.trim() != original.trim()
        {
            push(ideal, original);
        }
    }
    pairs
}

fn answer_text(item: &ExportItem, id: Uuid) -> Option<&str> {
    item.answers
        .iter()
        .find(|a| a.response_id == id)
        .map(|a| a.content.as_str())
}

fn prompt_text(messages: &[Message]) -> String {
    if let [only] = messages
        && only.role == ChatRole::User
    {
        return only.content.clone();
    }
    let turns: Vec<String> = messages
        .iter()
        .map(|m| {
            let who = match m.role {
                ChatRole::System => "System",
                ChatRole::User => "User",
                ChatRole::Assistant => "Assistant",
            };
            format!("{who}: {}", m.content)
        })
        .collect();
    turns.join("\n\n")
}

/// "\n\nHuman: …\n\nAssistant: …" ending with `answer`. System messages are folded into the
/// first Human turn (made up if the conversation does not start with a user turn).
fn hh_text(messages: &[Message], answer: &str) -> String {
    let is_system = |m: &&Message| m.role == ChatRole::System;
    let system: Vec<&str> = messages
        .iter()
        .filter(is_system)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(bool, String)> = messages
        .iter()
        .filter(|m| !is_system(m))
        .map(|m| (m.role == ChatRole::User, m.content.clone()))
        .collect();
    if !system.is_empty() {
        let system = system.join("\n\n");
        if turns.first().is_some_and(|t| t.0) {
            turns[0].1 = format!("{system}\n\n{}", turns[0].1);
        } else {
            turns.insert(0, (true, system));
        }
    }
    turns.push((false, answer.to_owned()));
    let speaker = |human: bool| if human { "Human" } else { "Assistant" };
    turns
        .iter()
        .map(|(human, text)| format!("\n\n{}: {text}", speaker(*human)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ExportFormat::*;
    use super::PairStrategy::*;
    use super::*;
    use serde_json::json;

    const A: Uuid = Uuid::from_u128(1);
    const B: Uuid = Uuid::from_u128(2);
    const C: Uuid = Uuid::from_u128(3);
    const D: Uuid = Uuid::from_u128(4);
    const ITEM: Uuid = Uuid::from_u128(100);
    const Q: &str = "Why is the sky blue?";
    const AT: &str = "2023-11-14T22:13:20Z";

    fn msg(role: ChatRole, content: &str) -> Message {
        Message {
            role,
            content: content.into(),
        }
    }

    /// An item asking `Q`, whose answers' texts are their letters ("a" for A, …).
    fn item(answers: &[Uuid], annotations: Vec<ExportAnnotation>) -> ExportItem {
        let answer = |(i, id): (usize, &Uuid)| ResponseView {
            response_id: *id,
            ordinal: i as i16,
            model: None,
            content: ["a", "b", "c", "d"][i].into(),
        };
        ExportItem {
            item_id: ITEM,
            external_id: Some("q-1".into()),
            messages: vec![msg(ChatRole::User, Q)],
            answers: answers.iter().enumerate().map(answer).collect(),
            annotations,
        }
    }

    /// An annotation ranking `order` without ties (none when empty), with an ideal edited from B.
    fn ann(n: u128, order: &[Uuid], th: &[(Uuid, bool)], edit: Option<&str>) -> ExportAnnotation {
        let ranking = (!order.is_empty()).then(|| order.iter().map(|id| [*id]).collect::<Vec<_>>());
        let thumbs: BTreeMap<Uuid, bool> = th.iter().copied().collect();
        serde_json::from_value(json!({
            "annotation_id": Uuid::from_u128(200 + n), "annotator": format!("annotator-{n}"),
            "source": "annotator", "ranking": ranking, "thumbs": thumbs, "ideal_answer": edit,
            "ideal_from": edit.map(|_| B), "flags": [], "comment": null, "shown_order": [C, A, B],
            "proposal_id": null, "time_spent_ms": 1500, "version": 1,
            "created_at": AT, "updated_at": AT,
        }))
        .unwrap()
    }

    fn opts(format: ExportFormat) -> ExportOptions {
        ExportOptions {
            format,
            ..ExportOptions::default()
        }
    }

    fn dpo(pairs: PairStrategy, min_agreement: f64, from_thumbs: bool) -> ExportOptions {
        ExportOptions {
            pairs,
            min_agreement,
            from_thumbs,
            ..ExportOptions::default()
        }
    }

    /// The records are DPO pairs with these (chosen, rejected) texts.
    fn assert_pairs(item: &ExportItem, opts: &ExportOptions, expected: &[(&str, &str)]) {
        let json = |&(c, r): &(&str, &str)| json!({"prompt": Q, "chosen": c, "rejected": r});
        assert_eq!(
            records(item, opts),
            expected.iter().map(json).collect::<Vec<_>>()
        );
    }

    #[test]
    fn borda_with_ties_and_disagreement() {
        let rankings = vec![
            vec![vec![A], vec![B], vec![C], vec![D]], // A 3, B 2, C 1, D 0
            vec![vec![B, A], vec![D], vec![C]],       // A 2.5, B 2.5, D 1, C 0
            vec![vec![B], vec![C], vec![A], vec![D]], // B 3, C 2, A 1, D 0
        ];
        assert_eq!(consensus(&rankings, &[A, B, C, D]), [[B], [A], [C], [D]]);
        let split_vote = [vec![vec![A], vec![B]], vec![vec![B], vec![A]]];
        assert_eq!(consensus(&split_vote, &[A, B]), [[A, B]]);
        assert_eq!(consensus(&split_vote, &[B, A]), [[B, A]]);
        // C is missing from the ranking and gets no points.
        let partial = consensus(&[vec![vec![A], vec![B]]], &[A, B, C]);
        assert_eq!(partial, vec![vec![A], vec![B, C]]);
        assert_eq!(pair_agreement(&rankings, B, A), 1.0 / 3.0); // a tie is no vote for B
        assert_eq!(pair_agreement(&rankings, A, D), 1.0);
    }

    #[test]
    fn pair_strategies() {
        let mut four = item(&[A, B, C, D], vec![ann(1, &[], &[], None)]);
        four.annotations[0].ranking = Some(vec![vec![A], vec![B, C], vec![D]]);
        let all = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "d"), ("c", "d")];
        assert_pairs(&four, &dpo(AllPairs, 0.0, true), &all);
        assert_pairs(&four, &dpo(BestVsRest, 0.0, true), &all[..3]);
        let adjacent = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")];
        assert_pairs(&four, &dpo(Adjacent, 0.0, true), &adjacent);
    }

    #[test]
    fn min_agreement_drops_contested_pairs() {
        let rankers = vec![ann(1, &[A, B, C], &[], None), ann(2, &[A, B, C], &[], None)];
        let mut it = item(&[A, B, C], rankers);
        it.annotations.push(ann(3, &[B, A, C], &[], None));
        assert_pairs(
            &it,
            &dpo(AllPairs, 0.0, true),
            &[("a", "b"), ("a", "c"), ("b", "c")],
        );
        assert_pairs(&it, &dpo(AllPairs, 0.8, true), &[("a", "c"), ("b", "c")]);
    }

    #[test]
    fn thumbs_pairs_are_deduplicated_and_follow_the_consensus() {
        let mut it = item(&[A, B, C], vec![]);
        it.annotations = vec![
            ann(1, &[A, B, C], &[(A, true), (B, true), (C, false)], None),
            ann(2, &[A, B, C], &[(B, true), (C, false)], None),
            ann(3, &[], &[(C, true), (A, false), (B, false)], None),
        ];
        // (a, c) is a consensus pair already, (b, c) is given twice, c over a or b contradicts.
        assert_pairs(
            &it,
            &dpo(BestVsRest, 0.0, true),
            &[("a", "b"), ("a", "c"), ("b", "c")],
        );
        assert_pairs(&it, &dpo(BestVsRest, 0.0, false), &[("a", "b"), ("a", "c")]);
        let thumbs_only = item(
            &[A, B, C],
            vec![ann(4, &[], &[(A, false), (C, true)], None)],
        );
        assert_pairs(&thumbs_only, &opts(DpoPairs), &[("c", "a")]);
    }

    #[test]
    fn edit_pairs() {
        let edits = vec![
            ann(1, &[], &[], Some("b, better")),
            ann(2, &[], &[], Some(" b\n")),
        ];
        let it = item(&[A, B, C], edits);
        assert_pairs(&it, &opts(DpoPairs), &[("b, better", "b")]);
        assert_pairs(
            &it,
            &ExportOptions {
                from_edits: false,
                ..opts(DpoPairs)
            },
            &[],
        );
    }

    fn small() -> ExportItem {
        let annotation = ann(1, &[B, A, C], &[(B, true), (C, false)], Some("b, improved"));
        item(&[A, B, C], vec![annotation])
    }

    #[test]
    fn every_format_of_a_small_item() {
        let it = small();
        let run = |format| records(&it, &opts(format));
        let conv = json!([{"role": "user", "content": Q}]);
        let pairs = [("b", "a"), ("b", "c"), ("a", "c"), ("b, improved", "b")];
        let shaped = |f: &dyn Fn(&str, &str) -> Value| {
            pairs.iter().map(|&(c, r)| f(c, r)).collect::<Vec<_>>()
        };
        let say = |text: &str| json!([{"role": "assistant", "content": text}]);
        let dpo = shaped(&|c, r| json!({"prompt": Q, "chosen": c, "rejected": r}));
        assert_eq!(run(DpoPairs), dpo);
        let conversational =
            shaped(&|c, r| json!({"prompt": conv, "chosen": say(c), "rejected": say(r)}));
        assert_eq!(run(DpoConversational), conversational);
        let openai = shaped(&|c, r| {
            json!({
                "input": {"messages": conv},
                "preferred_output": say(c), "non_preferred_output": say(r),
            })
        });
        assert_eq!(run(OpenaiPreference), openai);
        let hh = |text: &str| format!("\n\nHuman: {Q}\n\nAssistant: {text}");
        let anthropic = shaped(&|c, r| json!({"chosen": hh(c), "rejected": hh(r)}));
        assert_eq!(run(AnthropicHh), anthropic);
        let kto = json!([
            {"prompt": Q, "completion": "b", "label": true},
            {"prompt": Q, "completion": "c", "label": false},
        ]);
        assert_eq!(json!(run(Kto)), kto);
        let sft = json!({"messages": [
            {"role": "user", "content": Q}, {"role": "assistant", "content": "b, improved"},
        ]});
        assert_eq!(run(SftMessages), std::slice::from_ref(&sft));
        assert_eq!(run(OpenaiSft), [sft]);
        let completion = json!({"prompt": Q, "completion": "b, improved"});
        assert_eq!(run(SftPromptCompletion), [completion]);
        let raw = json!({
            "item_id": "00000000-0000-0000-0000-000000000064", "external_id": "q-1",
            "annotation_id": "00000000-0000-0000-0000-0000000000c9", "annotator": "annotator-1",
            "source": "annotator", "messages": conv,
            "answers": [
                {"response_id": A, "ordinal": 0, "model": null, "content": "a"},
                {"response_id": B, "ordinal": 1, "model": null, "content": "b"},
                {"response_id": C, "ordinal": 2, "model": null, "content": "c"},
            ],
            "ranking": [[B], [A], [C]],
            "thumbs": {
                "00000000-0000-0000-0000-000000000002": true,
                "00000000-0000-0000-0000-000000000003": false,
            },
            "ideal_answer": "b, improved", "ideal_from": B, "flags": [], "comment": null,
            "shown_order": [C, A, B], "proposal_id": null, "time_spent_ms": 1500, "version": 1,
            "created_at": AT, "updated_at": AT, "consensus": [[B], [A], [C]],
        });
        assert_eq!(run(Raw), [raw]);
        let with_split = ExportOptions {
            test_fraction: 0.5,
            ..opts(SftPromptCompletion)
        };
        let split_key =
            json!({"prompt": Q, "completion": "b, improved", "split": split(ITEM, 0.5)});
        assert_eq!(records(&it, &with_split), [split_key]);
        for format in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(format.as_str()), Some(format));
            assert_eq!(json!(format), json!(format.as_str()));
        }
    }

    #[test]
    fn multi_turn_prompts() {
        let mut it = small();
        it.messages = vec![
            msg(ChatRole::System, "Be brief."),
            msg(ChatRole::User, "Hi"),
            msg(ChatRole::Assistant, "Hello!"),
            msg(ChatRole::User, Q),
        ];
        let text = format!("System: Be brief.\n\nUser: Hi\n\nAssistant: Hello!\n\nUser: {Q}");
        let standard = json!({"prompt": text, "chosen": "b", "rejected": "a"});
        assert_eq!(records(&it, &opts(DpoPairs))[0], standard);
        let turns = format!("\n\nHuman: Be brief.\n\nHi\n\nAssistant: Hello!\n\nHuman: {Q}");
        let hh = |answer: &str| format!("{turns}\n\nAssistant: {answer}");
        let anthropic = json!({"chosen": hh("b"), "rejected": hh("a")});
        assert_eq!(records(&it, &opts(AnthropicHh))[0], anthropic);
    }

    #[test]
    fn excluded_flags() {
        let mut flagged = ann(1, &[B, A, C], &[], Some("unsafe ideal"));
        flagged.flags = vec![Flag::Unsafe];
        let mut it = item(&[A, B, C], vec![flagged, ann(2, &[A, B, C], &[], None)]);
        assert_pairs(&it, &opts(DpoPairs), &[("a", "b"), ("a", "c"), ("b", "c")]);
        assert!(records(&it, &opts(SftMessages)).is_empty());
        let keep_all = ExportOptions {
            exclude_flags: vec![],
            from_edits: false,
            ..opts(DpoPairs)
        };
        assert_pairs(&it, &keep_all, &[("a", "c"), ("b", "c")]);
        // Most annotators find the item not rankable: nothing but raw records.
        let mut not_rankable = ann(3, &[], &[], None);
        not_rankable.flags = vec![Flag::NotRankable];
        it.annotations.push(not_rankable);
        assert!(records(&it, &opts(DpoPairs)).is_empty());
        let raw = records(&it, &opts(Raw));
        assert_eq!(raw.len(), 3);
        assert_eq!(raw[0]["consensus"], json!([[A], [B], [C]]));
    }

    #[test]
    fn split_is_deterministic() {
        let id = Uuid::from_u128(0x1234_5678_9abc_def0);
        assert_eq!(split(id, 0.3), split(id, 0.3));
        let ids: Vec<Uuid> = (0..1000u128).map(Uuid::from_u128).collect();
        assert!(ids.iter().all(|id| split(*id, 0.0) == "train"));
        let tests = ids.iter().filter(|id| split(**id, 0.2) == "test").count();
        assert!((150..=250).contains(&tests), "{tests} of 1000 in test");
    }
}

/// The export form as the browser sends it (query string or form fields): checkboxes are
/// present or absent, numbers arrive as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub format: String,
    #[serde(default)]
    pub pairs: Option<String>,
    #[serde(default)]
    pub min_agreement: Option<String>,
    #[serde(default)]
    pub no_thumb_pairs: Option<String>,
    #[serde(default)]
    pub no_edit_pairs: Option<String>,
    #[serde(default)]
    pub keep_flagged: Option<String>,
    #[serde(default)]
    pub complete_only: Option<String>,
    #[serde(default)]
    pub test_fraction: Option<String>,
    /// Only annotations last changed on or after this day (`YYYY-MM-DD`, UTC) or time (RFC 3339).
    #[serde(default)]
    pub from: Option<String>,
    /// Only annotations last changed before this day (`YYYY-MM-DD`, UTC: the day is excluded)
    /// or time (RFC 3339).
    #[serde(default)]
    pub to: Option<String>,
}

impl ExportRequest {
    /// The export options, or an error naming the field.
    pub fn options(&self) -> Result<ExportOptions, crate::model::AppError> {
        use crate::model::AppError;
        let format = ExportFormat::parse(&self.format).ok_or_else(|| {
            AppError::invalid("format", format!("unknown export format {:?}", self.format))
        })?;
        let pairs = match self.pairs.as_deref().unwrap_or("all_pairs") {
            "all_pairs" => PairStrategy::AllPairs,
            "best_vs_rest" => PairStrategy::BestVsRest,
            "adjacent" => PairStrategy::Adjacent,
            other => {
                return Err(AppError::invalid(
                    "pairs",
                    format!("unknown pair strategy {other:?}"),
                ));
            }
        };
        let number = |field: &str, value: &Option<String>, range: std::ops::RangeInclusive<f64>| {
            let text = value.as_deref().map(str::trim).unwrap_or("");
            if text.is_empty() {
                return Ok(0.0);
            }
            match text.parse::<f64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(AppError::invalid(
                    field,
                    format!("must be a number from {} to {}", range.start(), range.end()),
                )),
            }
        };
        let min_agreement = number("min_agreement", &self.min_agreement, 0.0..=1.0)?;
        let test_fraction = number("test_fraction", &self.test_fraction, 0.0..=0.99)?;
        Ok(ExportOptions {
            format,
            pairs,
            min_agreement,
            from_thumbs: self.no_thumb_pairs.is_none(),
            from_edits: self.no_edit_pairs.is_none(),
            exclude_flags: if self.keep_flagged.is_some() {
                Vec::new()
            } else {
                vec![Flag::Unsafe, Flag::NotRankable]
            },
            test_fraction,
        })
    }

    pub fn complete_only(&self) -> bool {
        self.complete_only.is_some()
    }

    /// The `from` and `to` bounds, or an error naming the field.
    #[allow(clippy::type_complexity)]
    pub fn period(
        &self,
    ) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), crate::model::AppError> {
        Ok((
            parse_time("from", self.from.as_deref())?,
            parse_time("to", self.to.as_deref())?,
        ))
    }
}

/// A day (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time; empty is none.
pub fn parse_time(
    field: &str,
    value: Option<&str>,
) -> Result<Option<DateTime<Utc>>, crate::model::AppError> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| Some(d.and_time(chrono::NaiveTime::MIN).and_utc()))
        .map_err(|_| {
            crate::model::AppError::invalid(field, "must be a day (YYYY-MM-DD) or an RFC 3339 time")
        })
}

/// Counts and the first records of an export, shown before downloading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPreview {
    pub items: u64,
    pub records: u64,
    pub first: Vec<String>,
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn the_form_becomes_options_or_names_the_field() {
        let req = ExportRequest {
            format: "kto".into(),
            min_agreement: Some("0.5".into()),
            ..Default::default()
        };
        let options = req.options().unwrap();
        assert_eq!(options.format, ExportFormat::Kto);
        assert_eq!(options.min_agreement, 0.5);
        assert!(options.from_thumbs && options.from_edits);
        let field = |req: ExportRequest| req.options().unwrap_err().field.unwrap();
        assert_eq!(
            field(ExportRequest {
                format: "csv".into(),
                ..Default::default()
            }),
            "format"
        );
        assert_eq!(
            field(ExportRequest {
                format: "kto".into(),
                min_agreement: Some("2".into()),
                ..Default::default()
            }),
            "min_agreement"
        );
        assert_eq!(
            field(ExportRequest {
                format: "kto".into(),
                pairs: Some("some".into()),
                ..Default::default()
            }),
            "pairs"
        );
    }
}
