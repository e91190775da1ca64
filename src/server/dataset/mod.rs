//! Everything between stored labels and a training file, server-only: the export spec
//! ([`spec`]), the page reader ([`reader`]) every export path shares, the records of an item
//! ([`record`]: [`consensus`], [`pairs`], [`split`], one file per format family in
//! [`formats`]), the sinks ([`sink`], [`parquet`]), running an export ([`export`]),
//! dataset versions with their lineage and card ([`version`], [`card`]), and the import
//! parsers ([`import`]).

pub mod card;
pub mod consensus;
pub mod export;
pub mod formats;
pub mod import;
pub mod pairs;
pub mod parquet;
pub mod reader;
pub mod record;
pub mod sink;
pub mod spec;
pub mod split;
pub mod version;

pub use export::{ExportSummary, Observer, run};
pub use reader::{Source, pseudonym};
pub use record::{ExportAnnotation, ExportItem, ItemRecords, records};
pub use sink::Sink;
pub use spec::{ExportFilters, ExportFormat, ExportOptions, ExportSpec, PairStrategy};
