//! The records of one item: what each export format writes for it, computed once per item
//! and serialised straight into the output.

use super::consensus::consensus;
use super::formats;
use super::pairs::{answer_text, mean_ratings, preference_pairs, rankings_of};
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
    /// KTO: an assistant turn of the conversation, its thumb, and the conversation up to it.
    TurnThumb {
        prompt: String,
        completion: &'a str,
        label: bool,
    },
    /// SFT: an ideal answer.
    Ideal(&'a str),
    /// A preference pair (with the two HH transcripts for Anthropic HH); its margin when
    /// the export asks for margins.
    Pair {
        chosen: &'a str,
        rejected: &'a str,
        margin: Option<f64>,
        transcripts: Option<(String, String)>,
    },
    /// UltraFeedback: the item's answers with their rubric scores.
    Completions(Vec<formats::rubric::Rated<'a>>),
    /// HelpSteer: one answer with its rubric scores.
    Rated(formats::rubric::Rated<'a>),
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
    /// When the export asks for margins.
    pub margin: Option<f64>,
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
            ExportFormat::DpoPairs
                | ExportFormat::Kto
                | ExportFormat::SftPromptCompletion
                | ExportFormat::Ultrafeedback
                | ExportFormat::Helpsteer
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
                    // Thumbs on earlier turns: the conversation up to the turn is the prompt.
                    for feedback in &a.body.judgments.turns {
                        let turn = usize::from(feedback.turn);
                        if let (Some(label), Some(message)) =
                            (feedback.thumb, item.messages.get(turn))
                        {
                            bodies.push(Body::TurnThumb {
                                prompt: formats::prompt_text(&item.messages[..turn]),
                                completion: &message.content,
                                label,
                            });
                        }
                    }
                    // Every answer the annotator did not thumb, when none is acceptable.
                    if opts.none_acceptable_negatives && a.body.judgments.none_acceptable.is_some()
                    {
                        for answer in &item.answers {
                            if !a.body.thumbs.contains_key(&answer.response_id) {
                                bodies.push(Body::Thumb {
                                    completion: &answer.content,
                                    label: false,
                                });
                            }
                        }
                    }
                }
            }
            ExportFormat::Ultrafeedback | ExportFormat::Helpsteer => {
                let rated = rated_answers(item, &kept);
                if opts.format == ExportFormat::Helpsteer {
                    let any =
                        |r: &formats::rubric::Rated<'_>| r.ratings.values().any(Option::is_some);
                    bodies.extend(rated.into_iter().filter(any).map(Body::Rated));
                } else if !rated.is_empty() {
                    bodies.push(Body::Completions(rated));
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
                for pair in preference_pairs(item, &kept, opts) {
                    let transcripts = (format == ExportFormat::AnthropicHh).then(|| {
                        (
                            formats::preference::hh_text(&item.messages, pair.chosen),
                            formats::preference::hh_text(&item.messages, pair.rejected),
                        )
                    });
                    bodies.push(Body::Pair {
                        chosen: pair.chosen,
                        rejected: pair.rejected,
                        margin: opts.margin.then_some(pair.margin),
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
                chosen,
                rejected,
                margin,
                ..
            } => Some(PairRow {
                prompt: &self.of.prompt,
                conversation: &self.of.item.messages,
                chosen,
                rejected,
                margin: *margin,
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
            Body::TurnThumb {
                prompt,
                completion,
                label,
            } => {
                formats::kto::entries(&mut map, prompt, completion, *label)?;
            }
            Body::Ideal(ideal) => {
                formats::sft::entries(&mut map, of.format, &of.prompt, &item.messages, ideal)?;
            }
            Body::Pair {
                chosen,
                rejected,
                margin,
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
                if let Some(margin) = margin {
                    map.serialize_entry("margin", margin)?;
                }
            }
            Body::Completions(completions) => {
                formats::rubric::ultrafeedback(&mut map, &of.prompt, completions)?;
            }
            Body::Rated(answer) => {
                formats::rubric::helpsteer(&mut map, &of.prompt, answer)?;
            }
        }
        if let Some(split) = of.split {
            map.serialize_entry("split", split)?;
        }
        map.end()
    }
}

/// The item's answers with their mean rubric scores (see [`formats::rubric`]); empty when
/// no annotation rated any.
fn rated_answers<'a>(
    item: &'a ExportItem,
    kept: &[&'a ExportAnnotation],
) -> Vec<formats::rubric::Rated<'a>> {
    let means = mean_ratings(kept);
    let keys: std::collections::BTreeSet<&str> = kept
        .iter()
        .flat_map(|a| a.body.judgments.ratings.values())
        .flat_map(|scores| scores.keys().map(String::as_str))
        .collect();
    if keys.is_empty() {
        return Vec::new();
    }
    item.answers
        .iter()
        .map(|answer| formats::rubric::Rated {
            model: answer.model.as_deref(),
            response: &answer.content,
            ratings: keys
                .iter()
                .map(|&key| {
                    let mean = means.get(&answer.response_id).and_then(|m| m.get(key));
                    (key, mean.copied())
                })
                .collect(),
        })
        .collect()
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

    use crate::model::judgment::{Criterion, JudgmentSchema, Scale, StrengthScale};
    use std::sync::Arc;

    /// Version 1: Llama 2's four steps (margins 3, 2, 1, 0) and two criteria; version 2:
    /// margins 10, 0.
    fn schemas() -> Arc<BTreeMap<i32, JudgmentSchema>> {
        let criterion = |key: &str, scale| Criterion {
            key: key.into(),
            name: key.into(),
            description: String::new(),
            scale,
            required: false,
        };
        let one = JudgmentSchema {
            strength: Some(StrengthScale::default()),
            rubric: vec![
                criterion("helpfulness", Scale::OneToFive),
                criterion("honest", Scale::YesNo),
            ],
            ..JudgmentSchema::default()
        };
        let two = JudgmentSchema {
            strength: Some(
                serde_json::from_value(json!({"steps": [
                    {"label": "clearly", "margin": 10.0}, {"label": "tie", "margin": 0.0},
                ]}))
                .unwrap(),
            ),
            ..one.clone()
        };
        Arc::new(BTreeMap::from([(1, one), (2, two)]))
    }

    /// A ranking with strengths, made under guideline `version`.
    fn strong(n: u128, order: &[Uuid], strengths: &[u8], version: i32) -> ExportAnnotation {
        let mut a = ann(n, order, &[], None);
        a.body.judgments.strengths = strengths.to_vec();
        a.guideline_version = Some(version);
        a
    }

    fn with(format: ExportFormat, change: impl FnOnce(&mut ExportOptions)) -> ExportOptions {
        let mut o = ExportOptions {
            schemas: schemas(),
            from_edits: false,
            ..opts(format)
        };
        change(&mut o);
        o
    }

    #[test]
    fn pairs_carry_the_mean_margin_of_the_strengths_by_each_labels_version() {
        // Annotator 1 (version 1): A much better than B (3), B slightly better than C (1).
        // Annotator 2 (version 2): A clearly better than B (10), B tied with C (0).
        // Annotator 3: no strengths.
        let it = item(
            &[A, B, C],
            vec![
                strong(1, &[A, B, C], &[0, 2], 1),
                strong(2, &[A, B, C], &[0, 1], 2),
                ann(3, &[A, B, C], &[], None),
            ],
        );
        let margins = with(DpoPairs, |o| o.margin = true);
        let pair = |c: &str, r: &str, m: f64| json!({"prompt": Q, "chosen": c, "rejected": r, "margin": m});
        // a>b: (3 + 10) / 2; a>c: (3+1 + 10+0) / 2; b>c: (1 + 0) / 2.
        assert_eq!(
            records(&it, &margins),
            [
                pair("a", "b", 6.5),
                pair("a", "c", 7.0),
                pair("b", "c", 0.5)
            ]
        );
        // Without the option the records are as before.
        assert_pairs(
            &it,
            &with(DpoPairs, |_| {}),
            &[("a", "b"), ("a", "c"), ("b", "c")],
        );
        // Conversational pairs carry it too; thumbs pairs get 0.
        let conv = records(&it, &with(DpoConversational, |o| o.margin = true));
        assert_eq!(
            conv[0]["chosen"],
            json!([{"role": "assistant", "content": "a"}])
        );
        assert_eq!(conv[0]["margin"], json!(6.5));
        let thumbs = item(
            &[A, B, C],
            vec![ann(4, &[], &[(C, true), (A, false)], None)],
        );
        let thumb_pairs = records(&thumbs, &with(DpoPairs, |o| o.margin = true));
        assert_eq!(thumb_pairs, [pair("c", "a", 0.0)]);
    }

    #[test]
    fn about_the_same_is_kept_at_margin_zero_or_left_out() {
        // A much better than B; B about the same as C (both annotators).
        let it = item(
            &[A, B, C],
            vec![
                strong(1, &[A, B, C], &[0, 3], 1),
                strong(2, &[A, B, C], &[0, 1], 2),
            ],
        );
        let kept = records(&it, &with(DpoPairs, |o| o.margin = true));
        assert_eq!(kept.len(), 3);
        assert_eq!(
            (kept[2]["chosen"].clone(), kept[2]["margin"].clone()),
            (json!("b"), json!(0.0))
        );
        let dropped = with(DpoPairs, |o| o.drop_about_same = true);
        assert_pairs(&it, &dropped, &[("a", "b"), ("a", "c")]);
        // One annotator saying "slightly better" keeps the pair.
        let mut split_view = it.clone();
        split_view.annotations[0].body.judgments.strengths = vec![0, 2];
        assert_pairs(&split_view, &dropped, &[("a", "b"), ("a", "c"), ("b", "c")]);
    }

    #[test]
    fn none_acceptable_leaves_pairs_out_and_can_make_kto_negatives() {
        let mut none = ann(1, &[], &[(A, false)], None);
        none.body.judgments.none_acceptable = Some("all wrong".into());
        let ranker = ann(2, &[B, A, C], &[], None);
        // One of two says none acceptable: the other's ranking still makes pairs.
        let it = item(&[A, B, C], vec![none.clone(), ranker.clone()]);
        assert_pairs(
            &it,
            &with(DpoPairs, |_| {}),
            &[("b", "a"), ("b", "c"), ("a", "c")],
        );
        // Most say so: no pairs at all.
        let mut most = none.clone();
        most.annotation_id = Uuid::from_u128(999);
        let it3 = item(&[A, B, C], vec![none.clone(), most, ranker]);
        assert!(records(&it3, &with(DpoPairs, |_| {})).is_empty());
        // KTO: the thumb, and with the option every other answer as a negative.
        let alone = item(&[A, B, C], vec![none]);
        let kto = |c: &str| json!({"prompt": Q, "completion": c, "label": false});
        assert_eq!(records(&alone, &with(Kto, |_| {})), [kto("a")]);
        let negatives = with(Kto, |o| o.none_acceptable_negatives = true);
        assert_eq!(records(&alone, &negatives), [kto("a"), kto("b"), kto("c")]);
    }

    #[test]
    fn thumbs_on_earlier_turns_are_kto_records_of_the_conversation_up_to_them() {
        let mut it = small();
        it.messages = vec![
            msg(ChatRole::System, "Be brief."),
            msg(ChatRole::User, "Hi"),
            msg(ChatRole::Assistant, "Hello! How can I help?"),
            msg(ChatRole::User, Q),
        ];
        it.annotations[0].body.judgments.turns = vec![crate::model::judgment::TurnFeedback {
            turn: 2,
            thumb: Some(false),
            comment: Some("wordy".into()),
        }];
        let kto = records(&it, &opts(Kto));
        assert_eq!(
            kto.len(),
            3,
            "two answer thumbs and one turn thumb: {kto:?}"
        );
        assert_eq!(
            kto[2],
            json!({"prompt": "System: Be brief.\n\nUser: Hi", "completion": "Hello! How can I help?", "label": false})
        );
        // The raw record carries the turn's feedback as given.
        let raw = records(&it, &opts(Raw));
        assert_eq!(
            raw[0]["turns"],
            json!([{"turn": 2, "thumb": false, "comment": "wordy"}])
        );
        // Pair formats ignore it.
        assert_eq!(records(&it, &opts(DpoPairs)).len(), 4);
    }

    /// Ratings of A, B, C on helpfulness (and honest for A).
    fn rater(n: u128, help: [u8; 3], honest: Option<u8>) -> ExportAnnotation {
        let mut a = ann(n, &[], &[], None);
        for (id, h) in [A, B, C].into_iter().zip(help) {
            a.body
                .judgments
                .ratings
                .insert(id, BTreeMap::from([("helpfulness".to_owned(), h)]));
        }
        if let Some(yes) = honest {
            a.body
                .judgments
                .ratings
                .get_mut(&A)
                .unwrap()
                .insert("honest".into(), yes);
        }
        a.guideline_version = Some(1);
        a
    }

    #[test]
    fn ratings_in_ultrafeedback_and_helpsteer_shapes() {
        let mut it = item(
            &[A, B, C],
            vec![rater(1, [5, 2, 4], Some(1)), rater(2, [4, 2, 4], Some(0))],
        );
        it.answers[0].model = Some("m-a".into());
        let uf = records(&it, &with(Ultrafeedback, |_| {}));
        let done = |model: Value, response: &str, help: f64, honest: Value| {
            json!({"model": model, "response": response,
                   "ratings": {"helpfulness": help, "honest": honest}})
        };
        assert_eq!(
            uf,
            [json!({"prompt": Q, "completions": [
                done(json!("m-a"), "a", 4.5, json!(0.5)),
                done(Value::Null, "b", 2.0, Value::Null),
                done(Value::Null, "c", 4.0, Value::Null),
            ]})]
        );
        let hs = records(&it, &with(Helpsteer, |_| {}));
        assert_eq!(hs.len(), 3);
        assert_eq!(
            hs[0],
            json!({"prompt": Q, "response": "a", "model": "m-a", "helpfulness": 4.5, "honest": 0.5})
        );
        assert_eq!(
            hs[1],
            json!({"prompt": Q, "response": "b", "model": null, "helpfulness": 2.0, "honest": null})
        );
        // No ratings: no records; raw keeps the ratings as given.
        assert!(
            records(
                &item(&[A, B], vec![ann(3, &[A, B], &[], None)]),
                &with(Ultrafeedback, |_| {})
            )
            .is_empty()
        );
        let raw = records(&it, &with(Raw, |_| {}));
        assert_eq!(
            raw[0]["ratings"][A.to_string()],
            json!({"helpfulness": 5, "honest": 1})
        );
    }

    #[test]
    fn pairs_from_rubric_scores() {
        let it = item(
            &[A, B, C],
            vec![rater(1, [5, 2, 4], Some(1)), rater(2, [4, 2, 4], Some(0))],
        );
        // helpfulness means: a 4.5, c 4.0, b 2.0.
        let by_help = with(DpoPairs, |o| {
            o.rubric = Some(vec![("helpfulness".into(), 1.0)]);
            o.margin = true;
        });
        let pair = |c: &str, r: &str, m: f64| json!({"prompt": Q, "chosen": c, "rejected": r, "margin": m});
        assert_eq!(
            records(&it, &by_help),
            [
                pair("a", "c", 0.5),
                pair("a", "b", 2.5),
                pair("c", "b", 2.0)
            ]
        );
        // Annotator 2 scores a and c the same: half agree that a beats c.
        let agreed = with(DpoPairs, |o| {
            o.rubric = Some(vec![("helpfulness".into(), 1.0)]);
            o.min_agreement = 0.6;
        });
        assert_pairs(&it, &agreed, &[("a", "b"), ("c", "b")]);
        // A weighted sum needs every weighted criterion: only a has honest, so no pairs.
        let weighted = with(DpoPairs, |o| {
            o.rubric = Some(vec![("helpfulness".into(), 2.0), ("honest".into(), 1.0)]);
        });
        assert!(records(&it, &weighted).is_empty());
        // Best vs a random other: one pair, the best over an answer drawn from the rest.
        let binarised = with(DpoPairs, |o| {
            o.rubric = Some(vec![("helpfulness".into(), 1.0)]);
            o.pairs = BestVsRandom;
        });
        let one = records(&it, &binarised);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["chosen"], "a");
        let drawn = ["c", "b"][super::super::split::stable_choice(ITEM, 2)];
        assert_eq!(one[0]["rejected"], drawn);
        // Over many items, both others are drawn.
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..40u128 {
            let mut other = it.clone();
            other.item_id = Uuid::from_u128(5000 + n);
            seen.insert(records(&other, &binarised)[0]["rejected"].to_string());
        }
        assert_eq!(seen.len(), 2);
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
