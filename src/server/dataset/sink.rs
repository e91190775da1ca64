//! Where records go: JSON Lines into any writer (one per split, for a dataset card), Parquet
//! rows (preference pairs), or nowhere but a count and the first few lines (a preview).

use super::parquet::PairsWriter;
use super::record::Record;
use crate::server::Result;
use anyhow::Context;
use tokio::io::{AsyncWrite, AsyncWriteExt};

pub type Output<'a> = &'a mut (dyn AsyncWrite + Unpin + Send);

pub enum Sink<'a> {
    /// One JSON object per line.
    Jsonl { out: Output<'a>, line: Vec<u8> },
    /// JSON Lines, a file per split (records without a split go to train).
    Splits {
        train: Output<'a>,
        test: Output<'a>,
        line: Vec<u8>,
    },
    /// Parquet rows (preference pairs only).
    Parquet(&'a mut PairsWriter<Box<dyn std::io::Write + Send>>),
    /// Counts only; keeps the first `keep` records as JSON lines.
    Count { keep: usize, first: Vec<String> },
}

impl<'a> Sink<'a> {
    pub fn jsonl(out: Output<'a>) -> Self {
        Sink::Jsonl {
            out,
            line: Vec::with_capacity(8192),
        }
    }

    pub fn splits(train: Output<'a>, test: Output<'a>) -> Self {
        Sink::Splits {
            train,
            test,
            line: Vec::with_capacity(8192),
        }
    }

    pub fn count(keep: usize) -> Self {
        Sink::Count {
            keep,
            first: Vec::new(),
        }
    }

    pub async fn write(&mut self, record: &Record<'_, '_>) -> Result<()> {
        match self {
            Sink::Jsonl { out, line } => write_line(out, line, record).await,
            Sink::Splits { train, test, line } => {
                let out = if record.split() == Some("test") {
                    test
                } else {
                    train
                };
                write_line(out, line, record).await
            }
            Sink::Parquet(writer) => {
                let pair = record
                    .pair()
                    .context("Parquet is written for preference pairs")?;
                writer.push(&pair).context("writing the export")?;
                Ok(())
            }
            Sink::Count { keep, first } => {
                if first.len() < *keep {
                    first.push(serde_json::to_string(record).map_err(anyhow::Error::from)?);
                }
                Ok(())
            }
        }
    }

    pub async fn flush(&mut self) -> Result<()> {
        match self {
            Sink::Jsonl { out, .. } => out.flush().await.context("writing the export")?,
            Sink::Splits { train, test, .. } => {
                train.flush().await.context("writing the export")?;
                test.flush().await.context("writing the export")?;
            }
            Sink::Parquet(_) | Sink::Count { .. } => {}
        }
        Ok(())
    }
}

async fn write_line(
    out: &mut Output<'_>,
    line: &mut Vec<u8>,
    record: &Record<'_, '_>,
) -> Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, record).map_err(anyhow::Error::from)?;
    line.push(b'\n');
    out.write_all(line).await.context("writing the export")?;
    Ok(())
}
