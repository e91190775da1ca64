//! What the browser knows of exports: the formats and pair strategies its form offers, and
//! the preview it shows. The export engine itself is server-only, in `server::dataset`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", value(rename_all = "snake_case"))]
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
    Ultrafeedback,
    Helpsteer,
    Raw,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 11] = [
        Self::DpoPairs,
        Self::DpoConversational,
        Self::Kto,
        Self::SftMessages,
        Self::SftPromptCompletion,
        Self::OpenaiSft,
        Self::OpenaiPreference,
        Self::AnthropicHh,
        Self::Ultrafeedback,
        Self::Helpsteer,
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
            Self::Ultrafeedback => ("ultrafeedback", "Rubric ratings per answer (UltraFeedback)"),
            Self::Helpsteer => ("helpsteer", "Rubric ratings as flat rows (HelpSteer)"),
            Self::Raw => ("raw", "Raw annotations with the item's consensus"),
        }
    }
}

/// Which pairs a consensus ranking yields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", value(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum PairStrategy {
    /// Every two answers in different tiers.
    #[default]
    AllPairs,
    /// Each answer of the top tier over each answer below it.
    BestVsRest,
    /// Each tier over the next one.
    Adjacent,
    /// One pair per item: the first answer of the top tier over one answer of the tiers
    /// below, drawn by a stable hash of the item id (binarised UltraFeedback's recipe).
    BestVsRandom,
}

impl PairStrategy {
    pub const ALL: [PairStrategy; 4] = [
        Self::AllPairs,
        Self::BestVsRest,
        Self::Adjacent,
        Self::BestVsRandom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllPairs => "all_pairs",
            Self::BestVsRest => "best_vs_rest",
            Self::Adjacent => "adjacent",
            Self::BestVsRandom => "best_vs_random",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AllPairs => "All pairs",
            Self::BestVsRest => "Best vs rest",
            Self::Adjacent => "Adjacent",
            Self::BestVsRandom => "Best vs a random other",
        }
    }
}

/// Which labels an export takes, by their review.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", value(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum ReviewMode {
    /// Every label, reviewed or not (rejected labels are gone either way).
    #[default]
    Raw,
    /// Only labels a reviewer accepted or fixed, as they are now.
    Reviewed,
    /// An item's final label where a reviewer decided one, its labels (and so their
    /// consensus) otherwise.
    Adjudicated,
}

impl ReviewMode {
    pub const ALL: [ReviewMode; 3] = [Self::Raw, Self::Reviewed, Self::Adjudicated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Reviewed => "reviewed",
            Self::Adjudicated => "adjudicated",
        }
    }
}

/// Counts and the first records of an export, shown before downloading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPreview {
    pub items: u64,
    pub records: u64,
    pub first: Vec<String>,
}
