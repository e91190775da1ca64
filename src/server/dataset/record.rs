//! The records of one item: what each export format writes for it, computed once per item
//! and serialised straight into the output.

use super::consensus::consensus;
use super::formats;
use super::pairs::{answer_text, preference_pairs, rankings_of};
use super::spec::{ExportFormat, ExportOptions};
use super::split::split;
use crate::model::annotation::AnnotationBody;
use crate::model::project::{Message, ResponseView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One annotation as exported; `annotator` is a pseudonym, `source` "annotator" or "end_user".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportAnnotation {
    pub annotation_id: Uuid,
    pub annotator: String,
    pub source: String,
    #[serde(flatten)]
    pub body: AnnotationBody,
    /// The guideline version the label was made under: its judgment schema's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guideline_version: Option<i32>,
    pub shown_order: Vec<Uuid>,
    pub proposal_id: Option<Uuid>,
    pub time_spent_ms: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An annotator's standing on the project when exported: active, flagged or paused
    /// (`None` for end users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotator_status: Option<String>,
}

/// An item with its answers (in their original order) and all its annotations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportItem {
    pub item_id: Uuid,
    pub external_id: Option<String>,
    pub messages: Vec<Message>,
    pub answers: Vec<ResponseView>,
    pub annotations: Vec<ExportAnnotation>,
    /// Whether it is a gold item; `None` in a dataset version made before that was recorded
    /// (its raw records then carry neither this nor the annotators' standing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold: Option<bool>,
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
    raw: Option<formats::raw::RawParts>,
    bodies: Vec<Body<'a>>,
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
            |a: &ExportAnnotation| a.body.flags.iter().any(|f| opts.exclude_flags.contains(f));
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
                formats::prompt_text(&item.messages)
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
                records.raw = Some(formats::raw::RawParts {
                    messages: formats::raw_json(&item.messages),
                    answers: formats::raw_json(&item.answers),
                    consensus: (!rankings.is_empty()).then(|| consensus(&rankings, &ids)),
                });
                bodies.extend(item.annotations.iter().map(Body::Annotation));
            }
            _ if 2 * kept.len() < item.annotations.len() => {}
            ExportFormat::Kto => {
                for a in &kept {
                    for (id, &up) in &a.body.thumbs {
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
                for ideal in kept.iter().filter_map(|a| a.body.ideal_answer.as_deref()) {
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
                            formats::preference::hh_text(&item.messages, chosen),
                            formats::preference::hh_text(&item.messages, rejected),
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
    /// "train" or "test" when the export splits.
    pub fn split(&self) -> Option<&'static str> {
        self.of.split
    }

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
                formats::raw::entries(&mut map, item, raw, a)?;
            }
            Body::Thumb { completion, label } => {
                formats::kto::entries(&mut map, &of.prompt, completion, *label)?;
            }
            Body::Ideal(ideal) => {
                formats::sft::entries(&mut map, of.format, &of.prompt, &item.messages, ideal)?;
            }
            Body::Pair {
                chosen,
                rejected,
                transcripts,
            } => {
                let pair = formats::preference::Pair {
                    prompt: &of.prompt,
                    messages: &item.messages,
                    chosen,
                    rejected,
                    transcripts: transcripts.as_ref(),
                };
                formats::preference::entries(&mut map, of.format, &pair)?;
            }
        }
        if let Some(split) = of.split {
            map.serialize_entry("split", split)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::super::consensus::pair_agreement;
    use super::super::spec::PairStrategy;
    use super::ExportFormat::*;
    use super::*;
    use crate::model::annotation::Flag;
    use crate::model::project::ChatRole;
    use PairStrategy::*;
    use serde_json::json;
    use std::collections::BTreeMap;

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
            gold: None,
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
        four.annotations[0].body.ranking = Some(vec![vec![A], vec![B, C], vec![D]]);
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
        assert_eq!(run(Raw), std::slice::from_ref(&raw));
        // Live exports and newer versions say whether the item is gold and the author's
        // standing; versions made before (gold unknown) keep their records as they were.
        let mut flagged = it.clone();
        flagged.gold = Some(true);
        flagged.annotations[0].annotator_status = Some("flagged".into());
        let mut standing = raw;
        standing["gold"] = json!(true);
        standing["annotator_status"] = json!("flagged");
        assert_eq!(records(&flagged, &opts(Raw)), [standing]);
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
        flagged.body.flags = vec![Flag::Unsafe];
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
        not_rankable.body.flags = vec![Flag::NotRankable];
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
