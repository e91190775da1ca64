//! Preference pairs as Parquet, in the columns TRL and `datasets` read: `prompt`, `chosen`,
//! `rejected` as strings (standard) or as lists of `{role, content}` messages
//! (conversational), `margin` (a double) when the export asks for margins, and `split` when
//! the export asks for one. Rows are written in row
//! groups of [`ROWS_PER_GROUP`], so memory stays bounded.

use super::record::PairRow;
use crate::model::project::ChatRole;
use anyhow::{Context, Result};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::parser::parse_message_type;
use std::io::Write;
use std::sync::Arc;

pub const ROWS_PER_GROUP: usize = 10_000;

const STANDARD: &str = "
    required binary prompt (STRING);
    required binary chosen (STRING);
    required binary rejected (STRING);";

const CONVERSATIONAL: &str = "
    required group prompt (LIST) { repeated group list { required group element {
        required binary role (STRING); required binary content (STRING); } } }
    required group chosen (LIST) { repeated group list { required group element {
        required binary role (STRING); required binary content (STRING); } } }
    required group rejected (LIST) { repeated group list { required group element {
        required binary role (STRING); required binary content (STRING); } } }";

pub struct PairsWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    conversational: bool,
    /// The text leaf columns of the rows not yet written, in schema order, but `split`.
    columns: Vec<Column>,
    /// The margins not yet written, when the file has the column.
    margins: Option<Vec<f64>>,
    split: Column,
    rows: usize,
    written: u64,
}

/// One leaf column's batch: values, and levels where the schema needs them.
struct Column {
    values: Vec<ByteArray>,
    def: Vec<i16>,
    rep: Vec<i16>,
}

impl Column {
    fn new() -> Self {
        Self {
            values: Vec::new(),
            def: Vec::new(),
            rep: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) {
        self.values.push(ByteArray::from(text.as_bytes().to_vec()));
    }

    fn clear(&mut self) {
        self.values.clear();
        self.def.clear();
        self.rep.clear();
    }
}

impl<W: Write + Send> PairsWriter<W> {
    pub fn new(out: W, conversational: bool, margin: bool) -> Result<Self> {
        let schema = parse_message_type(&format!(
            "message pair {{ {} {} optional binary split (STRING); }}",
            if conversational {
                CONVERSATIONAL
            } else {
                STANDARD
            },
            if margin {
                "required double margin;"
            } else {
                ""
            }
        ))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        // Role and content of prompt, chosen, rejected, or the three strings.
        let leaves = if conversational { 6 } else { 3 };
        Ok(Self {
            writer: SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?,
            conversational,
            columns: (0..leaves).map(|_| Column::new()).collect(),
            margins: margin.then(Vec::new),
            split: Column::new(),
            rows: 0,
            written: 0,
        })
    }

    /// Adds a pair of the export.
    pub fn push(&mut self, pair: &PairRow<'_>) -> Result<()> {
        // Checked first: a refused pair adds to no column.
        if let Some(margins) = &mut self.margins {
            margins.push(pair.margin.context("a pair without its margin")?);
        }
        let columns = &mut self.columns;
        if self.conversational {
            let assistant = |content| [(ChatRole::Assistant, content)];
            let prompt = pair
                .conversation
                .iter()
                .map(|m| (m.role, m.content.as_str()));
            push_messages(&mut columns[0..2], prompt);
            push_messages(&mut columns[2..4], assistant(pair.chosen).into_iter());
            push_messages(&mut columns[4..6], assistant(pair.rejected).into_iter());
        } else {
            columns[0].push(pair.prompt);
            columns[1].push(pair.chosen);
            columns[2].push(pair.rejected);
        }
        let split = &mut self.split;
        match pair.split {
            Some(which) => {
                split.push(which);
                split.def.push(1);
            }
            None => split.def.push(0),
        }
        self.rows += 1;
        if self.rows >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        let missing = "the Parquet schema has fewer columns than written";
        let write_text =
            |group: &mut SerializedRowGroupWriter<'_, W>, column: &mut Column| -> Result<()> {
                let mut writer = group.next_column()?.context(missing)?;
                writer.typed::<ByteArrayType>().write_batch(
                    &column.values,
                    levels(&column.def),
                    levels(&column.rep),
                )?;
                writer.close()?;
                column.clear();
                Ok(())
            };
        for column in &mut self.columns {
            write_text(&mut group, column)?;
        }
        if let Some(margins) = &mut self.margins {
            let mut writer = group.next_column()?.context(missing)?;
            writer
                .typed::<DoubleType>()
                .write_batch(margins, None, None)?;
            writer.close()?;
            margins.clear();
        }
        write_text(&mut group, &mut self.split)?;
        group.close()?;
        self.written += self.rows as u64;
        self.rows = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer; returns the number of rows.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        self.writer.close()?;
        Ok(self.written)
    }
}

/// Levels to write: none for a column that needs none.
fn levels(levels: &[i16]) -> Option<&[i16]> {
    (!levels.is_empty()).then_some(levels)
}

/// A list of messages into its role and content columns (an empty list is one null-less
/// empty entry).
fn push_messages<'m>(columns: &mut [Column], messages: impl Iterator<Item = (ChatRole, &'m str)>) {
    let [role, content] = columns else {
        return;
    };
    let mut any = false;
    for (i, (who, text)) in messages.enumerate() {
        role.push(who.as_str());
        content.push(text);
        let rep = i16::from(i > 0);
        for c in [&mut *role, &mut *content] {
            c.def.push(1);
            c.rep.push(rep);
        }
        any = true;
    }
    if !any {
        for c in [role, content] {
            c.def.push(0);
            c.rep.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::project::Message;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, Row};
    use serde_json::{Value, json};

    fn pair<'r>(prompt: &'r str, conversation: &'r [Message], chosen: &'r str) -> PairRow<'r> {
        PairRow {
            prompt,
            conversation,
            chosen,
            rejected: "bad",
            margin: None,
            split: None,
        }
    }

    fn field(f: &Field) -> Value {
        match f {
            Field::Null => Value::Null,
            Field::Str(s) => json!(s),
            Field::Double(x) => json!(x),
            Field::Group(row) => object(row),
            Field::ListInternal(list) => Value::Array(list.elements().iter().map(field).collect()),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn object(row: &Row) -> Value {
        Value::Object(
            row.get_column_iter()
                .map(|(name, f)| (name.clone(), field(f)))
                .collect(),
        )
    }

    fn read(bytes: Vec<u8>) -> Vec<Value> {
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| object(&row.unwrap()))
            .collect()
    }

    #[test]
    fn standard_pairs_round_trip() {
        let mut out = Vec::new();
        let mut w = PairsWriter::new(&mut out, false, false).unwrap();
        w.push(&pair("2+2?", &[], "4")).unwrap();
        w.push(&PairRow {
            split: Some("test"),
            ..pair("1+1?", &[], "2")
        })
        .unwrap();
        assert_eq!(w.finish().unwrap(), 2);
        let rows = read(out);
        assert_eq!(
            rows[0],
            json!({"prompt": "2+2?", "chosen": "4", "rejected": "bad", "split": null})
        );
        assert_eq!(rows[1]["split"], "test");
    }

    #[test]
    fn margins_are_a_double_column_when_asked_for() {
        let mut out = Vec::new();
        let mut w = PairsWriter::new(&mut out, false, true).unwrap();
        for (n, margin) in [(1, 2.5), (2, 0.0)] {
            w.push(&PairRow {
                margin: Some(margin),
                ..pair(&format!("q{n}"), &[], "good")
            })
            .unwrap();
        }
        assert!(
            w.push(&pair("q3", &[], "good")).is_err(),
            "a pair without its margin"
        );
        assert_eq!(w.finish().unwrap(), 2);
        let rows = read(out);
        assert_eq!(
            rows[0],
            json!({"prompt": "q1", "chosen": "good", "rejected": "bad", "margin": 2.5, "split": null})
        );
        assert_eq!(rows[1]["margin"], 0.0);
    }

    #[test]
    fn conversational_pairs_keep_their_messages() {
        let msg = |role, content: &str| Message {
            role,
            content: content.to_owned(),
        };
        let mut out = Vec::new();
        let mut w = PairsWriter::new(&mut out, true, false).unwrap();
        for n in 0..3 {
            let prompt = [
                msg(ChatRole::System, "Be brief."),
                msg(ChatRole::User, &format!("q{n}")),
            ];
            w.push(&pair("", &prompt, "good")).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 3);
        let rows = read(out);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[2]["prompt"],
            json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q2"}])
        );
        assert_eq!(
            rows[0]["chosen"],
            json!([{"role": "assistant", "content": "good"}])
        );
        assert_eq!(
            rows[1]["rejected"],
            json!([{"role": "assistant", "content": "bad"}])
        );
    }
}
