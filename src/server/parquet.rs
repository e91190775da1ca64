//! Preference pairs as Parquet, in the columns TRL and `datasets` read: `prompt`, `chosen`,
//! `rejected` as strings (standard) or as lists of `{role, content}` messages
//! (conversational), and `split` when the export asks for one. Rows are written in row
//! groups of [`ROWS_PER_GROUP`], so memory stays bounded.

use anyhow::{Context, Result};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

pub const ROWS_PER_GROUP: usize = 10_000;

const STANDARD: &str = "message pair {
    required binary prompt (STRING);
    required binary chosen (STRING);
    required binary rejected (STRING);
    optional binary split (STRING);
}";

const CONVERSATIONAL: &str = "message pair {
    required group prompt (LIST) { repeated group list { required group element {
        required binary role (STRING); required binary content (STRING); } } }
    required group chosen (LIST) { repeated group list { required group element {
        required binary role (STRING); required binary content (STRING); } } }
    required group rejected (LIST) { repeated group list { required group element {
        required binary role (STRING); required binary content (STRING); } } }
    optional binary split (STRING);
}";

const FIELDS: [&str; 3] = ["prompt", "chosen", "rejected"];

pub struct PairsWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    conversational: bool,
    rows: Vec<Value>,
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
}

fn text(value: &Value, field: &str) -> Result<ByteArray> {
    value
        .as_str()
        .map(|s| ByteArray::from(s.as_bytes().to_vec()))
        .with_context(|| format!("a pair's {field} is not text"))
}

impl<W: Write + Send> PairsWriter<W> {
    pub fn new(out: W, conversational: bool) -> Result<Self> {
        let schema = parse_message_type(if conversational {
            CONVERSATIONAL
        } else {
            STANDARD
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        Ok(Self {
            writer: SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?,
            conversational,
            rows: Vec::with_capacity(ROWS_PER_GROUP),
            written: 0,
        })
    }

    /// Adds a record of the export (`prompt`, `chosen`, `rejected`, maybe `split`).
    pub fn push(&mut self, record: Value) -> Result<()> {
        self.rows.push(record);
        if self.rows.len() >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn columns(&self) -> Result<Vec<Column>> {
        let mut columns = Vec::new();
        for field in FIELDS {
            if self.conversational {
                let (mut role, mut content) = (Column::new(), Column::new());
                for row in &self.rows {
                    let messages = row[field]
                        .as_array()
                        .with_context(|| format!("a pair's {field} is not a list of messages"))?;
                    if messages.is_empty() {
                        for c in [&mut role, &mut content] {
                            c.def.push(0);
                            c.rep.push(0);
                        }
                    }
                    for (i, m) in messages.iter().enumerate() {
                        let rep = i16::from(i > 0);
                        role.values.push(text(&m["role"], field)?);
                        content.values.push(text(&m["content"], field)?);
                        for c in [&mut role, &mut content] {
                            c.def.push(1);
                            c.rep.push(rep);
                        }
                    }
                }
                columns.push(role);
                columns.push(content);
            } else {
                let mut column = Column::new();
                for row in &self.rows {
                    column.values.push(text(&row[field], field)?);
                }
                columns.push(column);
            }
        }
        let mut split = Column::new();
        for row in &self.rows {
            match row.get("split").and_then(Value::as_str) {
                Some(s) => {
                    split.values.push(ByteArray::from(s.as_bytes().to_vec()));
                    split.def.push(1);
                }
                None => split.def.push(0),
            }
        }
        columns.push(split);
        Ok(columns)
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let columns = self.columns()?;
        let mut group = self.writer.next_row_group()?;
        for column in columns {
            let mut writer = group
                .next_column()?
                .context("the Parquet schema has fewer columns than written")?;
            let levels = |l: &[i16]| (!l.is_empty()).then_some(l.to_vec());
            let (def, rep) = (levels(&column.def), levels(&column.rep));
            writer.typed::<ByteArrayType>().write_batch(
                &column.values,
                def.as_deref(),
                rep.as_deref(),
            )?;
            writer.close()?;
        }
        group.close()?;
        self.written += self.rows.len() as u64;
        self.rows.clear();
        Ok(())
    }

    /// Writes what is buffered and the footer; returns the number of rows.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        self.writer.close()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, Row};
    use serde_json::json;

    fn field(f: &Field) -> Value {
        match f {
            Field::Null => Value::Null,
            Field::Str(s) => json!(s),
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
        let mut w = PairsWriter::new(&mut out, false).unwrap();
        w.push(json!({"prompt": "2+2?", "chosen": "4", "rejected": "5"}))
            .unwrap();
        w.push(json!({"prompt": "1+1?", "chosen": "2", "rejected": "3", "split": "test"}))
            .unwrap();
        assert_eq!(w.finish().unwrap(), 2);
        let rows = read(out);
        assert_eq!(
            rows[0],
            json!({"prompt": "2+2?", "chosen": "4", "rejected": "5", "split": null})
        );
        assert_eq!(rows[1]["split"], "test");
    }

    #[test]
    fn conversational_pairs_keep_their_messages() {
        let msg = |role: &str, content: &str| json!({"role": role, "content": content});
        let mut out = Vec::new();
        let mut w = PairsWriter::new(&mut out, true).unwrap();
        for n in 0..3 {
            w.push(json!({
                "prompt": [msg("system", "Be brief."), msg("user", &format!("q{n}"))],
                "chosen": [msg("assistant", "good")],
                "rejected": [msg("assistant", "bad")],
            }))
            .unwrap();
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
    }
}
