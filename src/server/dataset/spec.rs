//! The export spec: which records to make of a project's labels, declared once. The CLI
//! (`clap::Args`), the REST query and the admin's form (one query-string parser), the
//! OpenAPI document (`IntoParams`) and stored dataset versions (serde, as JSON) all read
//! this one type; [`ExportSpec::resolve`] turns it into the engine's options and filters.

use crate::model::AppError;
use crate::model::annotation::Flag;
use crate::model::judgment::JudgmentSchema;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::model::export::{ExportFormat, PairStrategy, ReviewMode};

/// Annotations flagged so are left out unless the spec keeps them.
pub const DEFAULT_EXCLUDED_FLAGS: [Flag; 2] = [Flag::Unsafe, Flag::NotRankable];

/// What to export. Every field has a default but the format, which exports and dataset
/// versions require (the feedback stream defaults to `raw`).
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args, utoipa::IntoParams,
)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ExportSpec {
    /// Record format: dpo_pairs, dpo_conversational, kto, sft_messages, sft_prompt_completion,
    /// openai_sft, openai_preference, anthropic_hh, ultrafeedback, helpsteer or raw.
    #[arg(long, value_enum)]
    #[serde(deserialize_with = "form::format")]
    pub format: Option<ExportFormat>,
    /// How rankings become pairs: all_pairs (default), best_vs_rest, adjacent or
    /// best_vs_random.
    #[arg(long, value_enum, default_value_t)]
    #[serde(deserialize_with = "form::pairs")]
    pub pairs: PairStrategy,
    /// Keep only pairs at least this share of an item's rankers agree with (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    #[serde(deserialize_with = "form::number")]
    pub min_agreement: f64,
    /// No pairs from thumbs (in a query: present, or `true`).
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub no_thumb_pairs: bool,
    /// No pairs from edited ideal answers.
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub no_edit_pairs: bool,
    /// Keep annotations flagged unsafe or not rankable (left out by default).
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub keep_flagged: bool,
    /// Only items with all the annotations the project's overlap asks for.
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub complete_only: bool,
    /// Also gold items (left out by default: they check annotators, they are not data).
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub include_gold: bool,
    /// Leave out the labels of annotators flagged by their gold accuracy (paused ones too).
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub exclude_flagged_annotators: bool,
    /// Share of items (by a stable hash of the item id) marked `"split": "test"` (0 to
    /// 0.99); 0 = no split key.
    #[arg(long, default_value_t = 0.0)]
    #[serde(deserialize_with = "form::number")]
    pub test_fraction: f64,
    /// Only annotations last changed at or after this day (YYYY-MM-DD, UTC) or time
    /// (RFC 3339).
    #[arg(long)]
    #[serde(deserialize_with = "form::time")]
    #[param(value_type = Option<String>)]
    pub from: Option<TimeBound>,
    /// Only annotations last changed before this day (YYYY-MM-DD, UTC: the day is excluded)
    /// or time (RFC 3339).
    #[arg(long)]
    #[serde(deserialize_with = "form::time")]
    #[param(value_type = Option<String>)]
    pub to: Option<TimeBound>,
    /// Which labels by their review: raw (every label, the default), reviewed (only labels
    /// a reviewer accepted or fixed) or adjudicated (an item's final label where a reviewer
    /// decided one, its labels and their consensus otherwise).
    #[arg(long, value_enum, default_value_t)]
    #[serde(deserialize_with = "form::review")]
    pub review: ReviewMode,
    /// Pairs carry `margin`: how much better the chosen answer is, from the strengths the
    /// annotators gave (0 where none was given; for rubric pairs, the difference of the
    /// scores).
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub margin: bool,
    /// Leave out pairs whose strength is "about the same" (kept, with margin 0, by default).
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub drop_about_same: bool,
    /// KTO: every answer of an item an annotator found none acceptable is a negative.
    #[arg(long)]
    #[serde(deserialize_with = "form::checkbox")]
    pub none_acceptable_negatives: bool,
    /// Pairs from rubric scores instead of rankings: a criterion's key (`helpfulness`) or a
    /// weighted sum (`helpfulness:2,honesty:1`) of the annotators' mean scores.
    #[arg(long)]
    #[serde(deserialize_with = "form::optional_text")]
    pub rubric: Option<String>,
}

/// The engine's options, resolved from a spec.
#[derive(Clone, Debug, PartialEq)]
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
    /// Pairs carry `margin`.
    pub margin: bool,
    /// Leave out pairs whose strength is "about the same".
    pub drop_about_same: bool,
    /// KTO: every answer of an item found none acceptable is a negative.
    pub none_acceptable_negatives: bool,
    /// Pairs from these rubric criteria's weighted mean scores instead of rankings.
    pub rubric: Option<Vec<(String, f64)>>,
    /// The judgment schema of each guideline version, read by the export when it runs
    /// (strength margins, rubric criteria).
    pub schemas: std::sync::Arc<std::collections::BTreeMap<i32, JudgmentSchema>>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportSpec::default().options(ExportFormat::DpoPairs)
    }
}

/// Which annotations and items to export.
#[derive(Clone, Debug, Default)]
pub struct ExportFilters {
    /// Only annotations last changed at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only annotations last changed before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only items that have all the annotations the project's overlap asks for.
    pub complete_only: bool,
    /// Gold items too.
    pub include_gold: bool,
    /// Not the labels of annotators flagged by their gold accuracy.
    pub exclude_flagged_annotators: bool,
    /// Which labels by their review.
    pub review: ReviewMode,
    /// Stop after this many records (a preview).
    pub limit: Option<u64>,
}

impl ExportSpec {
    /// Parses a query string (the REST query, the admin's form); the error names the field.
    pub fn from_query(query: &str) -> Result<Self, AppError> {
        let pairs = form_urlencoded::parse(query.as_bytes());
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map_err(|e| AppError::invalid(e.path().to_string(), e.inner().to_string()))
    }

    /// Parses form fields (name, value) as [`Self::from_query`] does.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Self, AppError> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(pairs);
        Self::from_query(&query.finish())
    }

    /// Checks the ranges; the error names the field.
    pub fn validate(&self) -> Result<(), AppError> {
        let within = |field: &str, value: f64, high: f64| {
            if (0.0..=high).contains(&value) {
                Ok(())
            } else {
                Err(AppError::invalid(
                    field,
                    format!("must be a number from 0 to {high}"),
                ))
            }
        };
        within("min_agreement", self.min_agreement, 1.0)?;
        within("test_fraction", self.test_fraction, 0.99)?;
        self.rubric_weights()?;
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from.0 >= to.0
        {
            return Err(AppError::invalid("to", "must be later than from"));
        }
        Ok(())
    }

    /// The rubric weights (`helpfulness` or `helpfulness:2,honesty:1`); the error names
    /// the field.
    pub fn rubric_weights(&self) -> Result<Option<Vec<(String, f64)>>, AppError> {
        let Some(text) = &self.rubric else {
            return Ok(None);
        };
        let mut weights: Vec<(String, f64)> = Vec::new();
        for part in text.split(',') {
            let (key, weight) = match part.split_once(':') {
                Some((key, weight)) => (key.trim(), weight.trim().parse::<f64>().ok()),
                None => (part.trim(), Some(1.0)),
            };
            let refuse = |why: String| Err(AppError::invalid("rubric", why));
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return refuse(format!(
                    "{part:?} is not a criterion key: give `key` or `key:weight, key:weight`"
                ));
            }
            match weight {
                Some(w) if w.is_finite() && w > 0.0 && w <= 1000.0 => {}
                _ => return refuse(format!("the weight of {key} must be a number above 0")),
            }
            if weights.iter().any(|(k, _)| k == key) {
                return refuse(format!("{key} is given twice"));
            }
            weights.push((key.to_owned(), weight.unwrap_or(1.0)));
        }
        Ok(Some(weights))
    }

    /// Refuses the filters a stream read by cursor cannot apply (the feedback stream).
    pub fn records_only(&self) -> Result<(), AppError> {
        let field = if self.from.is_some() {
            "from"
        } else if self.to.is_some() {
            "to"
        } else if self.complete_only {
            "complete_only"
        } else if self.review != ReviewMode::Raw {
            "review"
        } else {
            return Ok(());
        };
        Err(AppError::invalid(
            field,
            "the feedback stream is read by cursor: from, to, complete_only and review do not apply",
        ))
    }

    /// The format, required here.
    pub fn required_format(&self) -> Result<ExportFormat, AppError> {
        self.format
            .ok_or_else(|| AppError::invalid("format", "choose an export format"))
    }

    /// Checks the spec and gives the engine's options and filters, with `format` (or,
    /// when the spec names none, `default_format`; `None`: the spec must name one).
    pub fn resolve(
        &self,
        default_format: Option<ExportFormat>,
    ) -> Result<(ExportOptions, ExportFilters), AppError> {
        self.validate()?;
        let format = match default_format {
            Some(default) => self.format.unwrap_or(default),
            None => self.required_format()?,
        };
        Ok((self.options(format), self.filters()))
    }

    fn options(&self, format: ExportFormat) -> ExportOptions {
        ExportOptions {
            format,
            pairs: self.pairs,
            min_agreement: self.min_agreement,
            from_thumbs: !self.no_thumb_pairs,
            from_edits: !self.no_edit_pairs,
            exclude_flags: if self.keep_flagged {
                Vec::new()
            } else {
                DEFAULT_EXCLUDED_FLAGS.to_vec()
            },
            test_fraction: self.test_fraction,
            margin: self.margin,
            drop_about_same: self.drop_about_same,
            none_acceptable_negatives: self.none_acceptable_negatives,
            // Checked by `validate` before.
            rubric: self.rubric_weights().ok().flatten(),
            schemas: Default::default(),
        }
    }

    fn filters(&self) -> ExportFilters {
        ExportFilters {
            from: self.from.map(|t| t.0),
            to: self.to.map(|t| t.0),
            complete_only: self.complete_only,
            include_gold: self.include_gold,
            exclude_flagged_annotators: self.exclude_flagged_annotators,
            review: self.review,
            limit: None,
        }
    }

    /// The spec as a query string (what the admin's form would send), defaults left out.
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let default = Self::default();
        if let Some(format) = self.format {
            query.append_pair("format", format.as_str());
        }
        if self.pairs != default.pairs {
            query.append_pair("pairs", self.pairs.as_str());
        }
        if self.review != default.review {
            query.append_pair("review", self.review.as_str());
        }
        for (name, value) in [
            ("min_agreement", self.min_agreement),
            ("test_fraction", self.test_fraction),
        ] {
            if value != 0.0 {
                query.append_pair(name, &value.to_string());
            }
        }
        for (name, on) in [
            ("no_thumb_pairs", self.no_thumb_pairs),
            ("no_edit_pairs", self.no_edit_pairs),
            ("keep_flagged", self.keep_flagged),
            ("complete_only", self.complete_only),
            ("include_gold", self.include_gold),
            (
                "exclude_flagged_annotators",
                self.exclude_flagged_annotators,
            ),
            ("margin", self.margin),
            ("drop_about_same", self.drop_about_same),
            ("none_acceptable_negatives", self.none_acceptable_negatives),
        ] {
            if on {
                query.append_pair(name, "true");
            }
        }
        for (name, bound) in [("from", self.from), ("to", self.to)] {
            if let Some(bound) = bound {
                query.append_pair(name, &bound.to_string());
            }
        }
        if let Some(rubric) = &self.rubric {
            query.append_pair("rubric", rubric);
        }
        query.finish()
    }
}

/// A time bound: a day (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TimeBound(pub DateTime<Utc>);

impl std::str::FromStr for TimeBound {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(Self(t.with_timezone(&Utc)));
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| Self(d.and_time(chrono::NaiveTime::MIN).and_utc()))
            .map_err(|_| "must be a day (YYYY-MM-DD) or an RFC 3339 time".to_owned())
    }
}

impl std::fmt::Display for TimeBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Field readers that take both a form's text (checkboxes present or absent, numbers as
/// text, blanks for "not given") and JSON's own types (a stored spec).
mod form {
    use super::{ExportFormat, PairStrategy, ReviewMode, TimeBound};
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};
    use serde_json::Value;

    fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.trim().to_owned()),
            other => Some(other.to_string()),
        })
    }

    pub fn format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ExportFormat>, D::Error> {
        text(d)?
            .map(|s| {
                ExportFormat::parse(&s)
                    .ok_or_else(|| D::Error::custom(format!("unknown export format {s:?}")))
            })
            .transpose()
    }

    pub fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<PairStrategy, D::Error> {
        match text(d)? {
            None => Ok(PairStrategy::default()),
            Some(s) => PairStrategy::ALL
                .into_iter()
                .find(|p| p.as_str() == s)
                .ok_or_else(|| D::Error::custom(format!("unknown pair strategy {s:?}"))),
        }
    }

    pub fn review<'de, D: Deserializer<'de>>(d: D) -> Result<ReviewMode, D::Error> {
        match text(d)? {
            None => Ok(ReviewMode::default()),
            Some(s) => ReviewMode::ALL
                .into_iter()
                .find(|m| m.as_str() == s)
                .ok_or_else(|| {
                    D::Error::custom(format!("must be raw, reviewed or adjudicated, not {s:?}"))
                }),
        }
    }

    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match text(d)? {
            None => Ok(0.0),
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| D::Error::custom("must be a number")),
        }
    }

    /// Present is on (a checkbox sends `on`), unless it says `false`, `0`, `off` or `no`.
    pub fn checkbox<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => false,
            Value::Bool(b) => b,
            Value::String(s) => !matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "off" | "no"
            ),
            _ => return Err(D::Error::custom("must be true or false")),
        })
    }

    pub fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        text(d)
    }

    pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TimeBound>, D::Error> {
        text(d)?
            .map(|s| s.parse().map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str) -> String {
        let spec = ExportSpec::from_query(query);
        let error = spec.and_then(|s| s.resolve(None).map(|_| ())).unwrap_err();
        error.field.unwrap()
    }

    #[test]
    fn the_form_becomes_options_or_names_the_field() {
        let spec = ExportSpec::from_query("format=kto&min_agreement=0.5&test_fraction=").unwrap();
        let (options, filters) = spec.resolve(None).unwrap();
        assert_eq!(options.format, ExportFormat::Kto);
        assert_eq!(options.min_agreement, 0.5);
        assert!(options.from_thumbs && options.from_edits);
        assert_eq!(options.exclude_flags, DEFAULT_EXCLUDED_FLAGS);
        assert!(!filters.complete_only && filters.from.is_none());
        assert_eq!(field("format=csv"), "format");
        assert_eq!(field(""), "format");
        assert_eq!(field("format=kto&min_agreement=2"), "min_agreement");
        assert_eq!(field("format=kto&min_agreement=lots"), "min_agreement");
        assert_eq!(field("format=kto&pairs=some"), "pairs");
        assert_eq!(field("format=kto&from=yesterday"), "from");
        assert_eq!(field("format=kto&from=2026-11-02&to=2026-11-01"), "to");
        for bad in [
            "Help",
            "help:0",
            "help:x",
            "help,help",
            "help:-1",
            ",",
            "a b",
        ] {
            let query = format!("format=dpo_pairs&rubric={}", urlencode(bad));
            assert_eq!(field(&query), "rubric", "{bad}");
        }
        let weighted = ExportSpec::from_query("format=dpo_pairs&rubric=helpfulness:2,%20honest")
            .unwrap()
            .resolve(None)
            .unwrap()
            .0;
        assert_eq!(
            weighted.rubric,
            Some(vec![("helpfulness".into(), 2.0), ("honest".into(), 1.0)])
        );
    }

    fn urlencode(text: &str) -> String {
        form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    #[test]
    fn the_stream_refuses_filters_it_cannot_apply() {
        let refused = |q: &str| {
            ExportSpec::from_query(q)
                .unwrap()
                .records_only()
                .unwrap_err()
        };
        assert_eq!(refused("from=2026-11-01").field.unwrap(), "from");
        assert_eq!(
            refused("format=kto&complete_only=on").field.unwrap(),
            "complete_only"
        );
        assert!(
            ExportSpec::from_query("format=kto&after=x")
                .unwrap()
                .records_only()
                .is_ok()
        );
    }

    #[test]
    fn checkboxes_days_and_times() {
        let spec = ExportSpec::from_query(
            "format=raw&keep_flagged=on&no_thumb_pairs=&complete_only=false\
             &from=2026-11-01&to=2026-11-02T12:00:00%2B01:00",
        )
        .unwrap();
        let (options, filters) = spec.resolve(None).unwrap();
        assert!(options.exclude_flags.is_empty() && !options.from_thumbs);
        assert!(!filters.complete_only);
        assert_eq!(
            filters.from.unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            filters.to.unwrap().to_rfc3339(),
            "2026-11-02T11:00:00+00:00"
        );
    }

    #[test]
    fn a_spec_survives_json_and_its_query() {
        let spec = ExportSpec::from_query(
            "format=dpo_pairs&pairs=adjacent&min_agreement=0.75&keep_flagged=on&from=2026-11-01\
             &margin=on&drop_about_same=on&rubric=helpfulness:2",
        )
        .unwrap();
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["format"], "dpo_pairs");
        assert_eq!(json["from"], "2026-11-01T00:00:00Z");
        assert_eq!(serde_json::from_value::<ExportSpec>(json).unwrap(), spec);
        assert_eq!(ExportSpec::from_query(&spec.to_query()).unwrap(), spec);
    }

    #[test]
    fn the_cli_parses_the_same_spec() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            spec: ExportSpec,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--format",
            "dpo_conversational",
            "--pairs",
            "best_vs_rest",
            "--from",
            "2026-11-01",
            "--keep-flagged",
        ])
        .unwrap();
        let query = ExportSpec::from_query(
            "format=dpo_conversational&pairs=best_vs_rest&from=2026-11-01&keep_flagged=on",
        );
        assert_eq!(cli.spec, query.unwrap());
        assert!(Cli::try_parse_from(["x", "--format", "csv"]).is_err());
    }
}
