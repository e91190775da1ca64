//! Model proposals: what a local model suggests for an item, how the judge is asked, how its
//! reply is checked, and how an annotator's answer compares with it. No I/O here.

use crate::model::project::{Message, ResponseView};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A proposal as the workspace shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProposalView {
    pub proposal_id: Uuid,
    pub model: String,
    /// Best to worst, tiers of answer ids.
    pub ranking: Vec<Vec<Uuid>>,
    pub thumbs: BTreeMap<Uuid, bool>,
    pub rationale: String,
    pub confidence: f32,
}

/// How an annotation treated the proposal its author was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalOutcome {
    /// Submitted exactly as proposed (ranking and thumbs).
    Accepted,
    /// Changed, but the ranking still agrees with the proposal on at least half its pairs.
    Modified,
    /// Changed so that most pairs disagree (or nothing comparable is left).
    Replaced,
}

impl ProposalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalOutcome::Accepted => "accepted",
            ProposalOutcome::Modified => "modified",
            ProposalOutcome::Replaced => "replaced",
        }
    }
}

fn position(ranking: &[Vec<Uuid>], id: Uuid) -> Option<usize> {
    ranking.iter().position(|tier| tier.contains(&id))
}

/// Share of answer pairs that two rankings order the same way (ties count as an order),
/// over the pairs both rank; `None` when there is no such pair.
pub fn ranking_agreement(a: &[Vec<Uuid>], b: &[Vec<Uuid>]) -> Option<f64> {
    let ids: Vec<Uuid> = a.iter().flatten().copied().collect();
    let (mut same, mut total) = (0u32, 0u32);
    for (i, &x) in ids.iter().enumerate() {
        for &y in &ids[i + 1..] {
            let (Some(ax), Some(ay), Some(bx), Some(by)) = (
                position(a, x),
                position(a, y),
                position(b, x),
                position(b, y),
            ) else {
                continue;
            };
            total += 1;
            if ax.cmp(&ay) == bx.cmp(&by) {
                same += 1;
            }
        }
    }
    (total > 0).then(|| f64::from(same) / f64::from(total))
}

/// Compares what was submitted with the proposal that was shown.
pub fn outcome(
    proposal: &ProposalView,
    ranking: Option<&Vec<Vec<Uuid>>>,
    thumbs: &BTreeMap<Uuid, bool>,
) -> ProposalOutcome {
    let same_ranking = ranking.is_none_or(|r| *r == proposal.ranking);
    if same_ranking && *thumbs == proposal.thumbs {
        return ProposalOutcome::Accepted;
    }
    let agreement = match ranking {
        Some(r) => ranking_agreement(&proposal.ranking, r),
        None => {
            let shared = thumbs
                .iter()
                .filter(|(id, up)| proposal.thumbs.get(id) == Some(up))
                .count();
            (!proposal.thumbs.is_empty()).then(|| shared as f64 / proposal.thumbs.len() as f64)
        }
    };
    match agreement {
        Some(a) if a >= 0.5 => ProposalOutcome::Modified,
        _ => ProposalOutcome::Replaced,
    }
}

/// The judge prompt used unless a project sets its own. `{guidelines}`, `{conversation}` and
/// `{answers}` are replaced; `{answers}` must be there.
pub const DEFAULT_JUDGE_PROMPT: &str = "You are an expert reviewer of assistant answers.

Guidelines of this project:
{guidelines}

The conversation so far:
{conversation}

Candidate answers to the last user message:
{answers}

Rank the answers from best to worst (ranking, e.g. \"B>A>C\"), say for each answer whether it \
is acceptable (thumbs: true or false), explain your ranking in one short sentence (rationale), \
and give your confidence from 0 to 1. Reply with JSON only.";

/// Letters naming answers to the judge: A, B, C…
pub fn letter(index: usize) -> String {
    char::from(b'A' + index as u8).to_string()
}

/// Fills the template with the item.
pub fn render_judge_prompt(
    template: &str,
    guidelines: &str,
    messages: &[Message],
    answers: &[ResponseView],
) -> String {
    let conversation = messages
        .iter()
        .map(|m| format!("[{}] {}", m.role.as_str(), m.content))
        .collect::<Vec<_>>()
        .join("\n\n");
    let answers = answers
        .iter()
        .enumerate()
        .map(|(i, a)| format!("Answer {}:\n{}", letter(i), a.content))
        .collect::<Vec<_>>()
        .join("\n\n");
    let guidelines = if guidelines.trim().is_empty() {
        "(none)"
    } else {
        guidelines
    };
    template
        .replace("{guidelines}", guidelines)
        .replace("{conversation}", &conversation)
        .replace("{answers}", &answers)
}

fn permutations(items: &[String]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

/// Up to this many answers, the schema lists every ranking, so a grammar-constrained model
/// can only produce a valid one; beyond, the ranking is a list of letters, checked after.
pub const MAX_ENUMERATED: usize = 5;

/// The JSON schema the judge's reply must follow (sent as `response_format`).
pub fn judge_schema(answers: usize) -> Value {
    let letters: Vec<String> = (0..answers).map(letter).collect();
    let ranking = if answers <= MAX_ENUMERATED {
        let all: Vec<String> = permutations(&letters)
            .into_iter()
            .map(|p| p.join(">"))
            .collect();
        json!({"type": "string", "enum": all})
    } else {
        json!({"type": "array", "items": {"type": "string", "enum": letters},
               "minItems": answers, "maxItems": answers})
    };
    let thumbs: serde_json::Map<String, Value> = letters
        .iter()
        .map(|l| (l.clone(), json!({"type": "boolean"})))
        .collect();
    json!({
        "type": "object",
        "properties": {
            "ranking": ranking,
            "thumbs": {"type": "object", "properties": thumbs, "required": letters, "additionalProperties": false},
            "rationale": {"type": "string", "maxLength": 300},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1}
        },
        "required": ["ranking", "thumbs", "rationale", "confidence"],
        "additionalProperties": false
    })
}

/// A checked reply of the judge, in answer ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub ranking: Vec<Vec<Uuid>>,
    pub thumbs: BTreeMap<Uuid, bool>,
    pub rationale: String,
    pub confidence: f32,
}

/// Checks the judge's reply against the item's answers (in the order they were shown to the
/// judge), whatever the server claims to enforce. The error says what is wrong.
pub fn parse_judgement(reply: &Value, answers: &[Uuid]) -> Result<Judgement, String> {
    let index = |l: &str| -> Result<Uuid, String> {
        let l = l.trim();
        let mut chars = l.chars();
        match (chars.next(), chars.next()) {
            (Some(c @ 'A'..='Z'), None) if ((c as u8 - b'A') as usize) < answers.len() => {
                Ok(answers[(c as u8 - b'A') as usize])
            }
            _ => Err(format!(
                "the ranking names {l:?}, which is not one of the answers"
            )),
        }
    };
    let letters: Vec<String> = match reply.get("ranking") {
        Some(Value::String(s)) => s.split('>').map(str::to_owned).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or("the ranking holds a non-string")
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("the reply has no ranking".into()),
    };
    let mut ranking = Vec::with_capacity(letters.len());
    for l in &letters {
        let id = index(l)?;
        if ranking.iter().any(|tier: &Vec<Uuid>| tier.contains(&id)) {
            return Err(format!("the ranking names {} twice", l.trim()));
        }
        ranking.push(vec![id]);
    }
    if ranking.len() != answers.len() {
        return Err(format!(
            "the ranking covers {} of the {} answers",
            ranking.len(),
            answers.len()
        ));
    }
    let thumbs_in = reply
        .get("thumbs")
        .and_then(Value::as_object)
        .ok_or("the reply has no thumbs")?;
    let mut thumbs = BTreeMap::new();
    for (l, up) in thumbs_in {
        let up = up
            .as_bool()
            .ok_or(format!("the thumb of {l} is not true or false"))?;
        thumbs.insert(index(l)?, up);
    }
    let rationale = reply
        .get("rationale")
        .and_then(Value::as_str)
        .ok_or("the reply has no rationale")?
        .chars()
        .take(1000)
        .collect();
    let confidence = reply
        .get("confidence")
        .and_then(Value::as_f64)
        .filter(|c| (0.0..=1.0).contains(c))
        .ok_or("the confidence is not a number from 0 to 1")? as f32;
    Ok(Judgement {
        ranking,
        thumbs,
        rationale,
        confidence,
    })
}

/// Whether the bytes fall in a stable share of all: `per_10_000` of every 10,000 (FNV-1a:
/// stable across processes and versions).
fn in_share<'a>(bytes: impl Iterator<Item = &'a u8>, per_10_000: f64) -> bool {
    if per_10_000 <= 0.0 {
        return false;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    ((hash % 10_000) as f64) < per_10_000
}

/// Whether this annotator is in the share that never sees proposals (stable per project).
pub fn held_out(user_id: Uuid, project_id: Uuid, share: f32) -> bool {
    in_share(
        user_id.as_bytes().iter().chain(project_id.as_bytes()),
        f64::from(share * 10_000.0),
    )
}

/// Whether a pre-label job with this `swap_share` judges the item a second time with its
/// answers reversed (stable per item).
pub fn judged_twice(item_id: Uuid, share: f64) -> bool {
    in_share(item_id.as_bytes().iter(), share * 10_000.0)
}

/// A project's model-assist settings as the admin page shows them. The API key is never
/// sent back, only whether one is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssistSettings {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key_set: bool,
    pub timeout_secs: Option<i32>,
    pub concurrency: Option<i32>,
    pub judge_prompt: Option<String>,
    pub auto_prelabel: bool,
    pub proposal_holdout: f32,
    /// The deployment's values, used where the project sets none.
    pub default_base_url: Option<String>,
    pub default_model: Option<String>,
    pub default_timeout_secs: i32,
    pub default_concurrency: i32,
}

/// A job as the admin page and the CLI show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub job_id: Uuid,
    pub kind: String,
    pub status: String,
    pub auto: bool,
    pub total: i32,
    pub done: i32,
    pub failed: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Items finished per minute over the last five minutes.
    pub per_minute: f64,
    /// Seconds left at that rate.
    pub eta_secs: Option<i64>,
    /// The latest failures: (item external id or id, why).
    pub failures: Vec<(String, String)>,
}

/// Model–human agreement in a project.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgreementReport {
    pub proposals_done: i64,
    pub proposals_failed: i64,
    /// Annotations whose author was shown a proposal.
    pub shown: i64,
    pub accepted: i64,
    pub modified: i64,
    pub replaced: i64,
    /// Mean share of answer pairs the proposal and the annotator order the same way.
    pub mean_agreement: Option<f64>,
    pub by_day: Vec<DayAgreement>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayAgreement {
    pub day: NaiveDate,
    pub shown: i64,
    pub accepted: i64,
    pub mean_agreement: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::project::ChatRole;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn agreement_counts_pairs_ordered_alike() {
        let [a, b, c] = ids(3).try_into().unwrap();
        let abc = vec![vec![a], vec![b], vec![c]];
        assert_eq!(ranking_agreement(&abc, &abc), Some(1.0));
        let cba = vec![vec![c], vec![b], vec![a]];
        assert_eq!(ranking_agreement(&abc, &cba), Some(0.0));
        let bac = vec![vec![b], vec![a], vec![c]];
        assert_eq!(ranking_agreement(&abc, &bac), Some(2.0 / 3.0));
        assert_eq!(ranking_agreement(&abc, &[]), None);
    }

    #[test]
    fn outcomes_tell_accepted_modified_and_replaced_apart() {
        let [a, b, c] = ids(3).try_into().unwrap();
        let proposal = ProposalView {
            proposal_id: Uuid::new_v4(),
            model: "m".into(),
            ranking: vec![vec![a], vec![b], vec![c]],
            thumbs: [(a, true), (c, false)].into_iter().collect(),
            rationale: "r".into(),
            confidence: 0.5,
        };
        let same = proposal.ranking.clone();
        assert_eq!(
            outcome(&proposal, Some(&same), &proposal.thumbs),
            ProposalOutcome::Accepted
        );
        let thumbs_changed: BTreeMap<Uuid, bool> = [(a, true)].into_iter().collect();
        assert_eq!(
            outcome(&proposal, Some(&same), &thumbs_changed),
            ProposalOutcome::Modified
        );
        let swapped = vec![vec![b], vec![a], vec![c]];
        assert_eq!(
            outcome(&proposal, Some(&swapped), &proposal.thumbs),
            ProposalOutcome::Modified
        );
        let reversed = vec![vec![c], vec![b], vec![a]];
        assert_eq!(
            outcome(&proposal, Some(&reversed), &proposal.thumbs),
            ProposalOutcome::Replaced
        );
    }

    #[test]
    fn judge_replies_are_checked_against_the_answers() {
        let answers = ids(3);
        let reply = json!({"ranking": "B>A>C", "thumbs": {"A": true, "B": true, "C": false},
                           "rationale": "B is complete", "confidence": 0.8});
        let j = parse_judgement(&reply, &answers).unwrap();
        assert_eq!(
            j.ranking,
            vec![vec![answers[1]], vec![answers[0]], vec![answers[2]]]
        );
        assert!(!j.thumbs[&answers[2]]);
        let as_list =
            json!({"ranking": ["C", "B", "A"], "thumbs": {}, "rationale": "", "confidence": 0});
        assert!(parse_judgement(&as_list, &answers).is_ok());
        let bad = |reply: Value| parse_judgement(&reply, &answers).unwrap_err();
        let base = |ranking: Value| json!({"ranking": ranking, "thumbs": {}, "rationale": "", "confidence": 0.5});
        assert!(bad(base(json!("A>B>D"))).contains("\"D\""));
        assert!(bad(base(json!("A>B"))).contains("2 of the 3"));
        assert!(bad(base(json!("A>A>B"))).contains("twice"));
        assert!(bad(json!({"thumbs": {}})).contains("no ranking"));
        let confident = json!({"ranking": "A>B>C", "thumbs": {}, "rationale": "", "confidence": 7});
        assert!(bad(confident).contains("confidence"));
    }

    #[test]
    fn small_item_schemas_enumerate_every_ranking() {
        let schema = judge_schema(3);
        let all = schema["properties"]["ranking"]["enum"].as_array().unwrap();
        assert_eq!(all.len(), 6);
        assert!(all.contains(&json!("C>A>B")));
        assert_eq!(
            schema["properties"]["thumbs"]["required"],
            json!(["A", "B", "C"])
        );
        let big = judge_schema(7);
        assert_eq!(big["properties"]["ranking"]["type"], "array");
        assert_eq!(big["properties"]["ranking"]["minItems"], 7);
    }

    #[test]
    fn the_prompt_holds_the_guidelines_the_conversation_and_lettered_answers() {
        let answers = vec![
            ResponseView {
                response_id: Uuid::new_v4(),
                ordinal: 0,
                model: None,
                content: "four".into(),
            },
            ResponseView {
                response_id: Uuid::new_v4(),
                ordinal: 1,
                model: None,
                content: "five".into(),
            },
        ];
        let messages = vec![Message {
            role: ChatRole::User,
            content: "2+2?".into(),
        }];
        let prompt = render_judge_prompt(DEFAULT_JUDGE_PROMPT, "Be exact.", &messages, &answers);
        assert!(prompt.contains("Be exact."));
        assert!(prompt.contains("[user] 2+2?"));
        assert!(prompt.contains("Answer A:\nfour") && prompt.contains("Answer B:\nfive"));
    }

    #[test]
    fn hold_out_is_stable_and_near_the_share() {
        let project = Uuid::new_v4();
        let users = ids(2000);
        let held = users.iter().filter(|u| held_out(**u, project, 0.3)).count();
        assert!((450..=750).contains(&held), "{held}");
        assert!(
            users
                .iter()
                .all(|u| held_out(*u, project, 0.3) == held_out(*u, project, 0.3))
        );
        assert!(!users.iter().any(|u| held_out(*u, project, 0.0)));
    }
}
