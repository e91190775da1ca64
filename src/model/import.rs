//! What the browser knows of imports: the formats, a line's error, and an import's report.
//! The parsers are server-only, in `server::dataset::import`.

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
    /// Lines imported with a change, saying what changed (the first 100 in full).
    #[serde(default)]
    pub warning_count: usize,
    #[serde(default)]
    pub warnings: Vec<LineError>,
    /// False when invalid lines made the import store nothing.
    pub committed: bool,
}
