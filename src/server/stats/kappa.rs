//! Cohen's kappa between two annotators, from the table of the values they gave the units
//! both labeled. Additive over units, like the coincidences.

use std::collections::BTreeMap;

/// n_ck: units where the first annotator gave c and the second k.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contingency {
    cells: BTreeMap<(i64, i64), f64>,
}

impl Contingency {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_cells(cells: impl IntoIterator<Item = ((i64, i64), f64)>) -> Self {
        let mut table = Self::new();
        for (key, n) in cells {
            *table.cells.entry(key).or_default() += n;
        }
        table
    }

    pub fn add(&mut self, first: i64, second: i64) {
        *self.cells.entry((first, second)).or_default() += 1.0;
    }

    pub fn units(&self) -> f64 {
        self.cells.values().sum()
    }

    /// Share of units both gave the same value; `None` without units.
    pub fn observed(&self) -> Option<f64> {
        let n = self.units();
        (n > 0.0).then(|| {
            let same: f64 = self
                .cells
                .iter()
                .filter(|((c, k), _)| c == k)
                .map(|(_, n)| n)
                .sum();
            same / n
        })
    }

    /// (p_o - p_e) / (1 - p_e); `None` without units or when chance agreement is certain
    /// (both always gave one and the same value).
    pub fn kappa(&self) -> Option<f64> {
        let n = self.units();
        let observed = self.observed()?;
        let mut rows: BTreeMap<i64, f64> = BTreeMap::new();
        let mut cols: BTreeMap<i64, f64> = BTreeMap::new();
        for (&(c, k), &count) in &self.cells {
            *rows.entry(c).or_default() += count;
            *cols.entry(k).or_default() += count;
        }
        let chance: f64 = rows
            .iter()
            .map(|(v, r)| r * cols.get(v).copied().unwrap_or_default())
            .sum::<f64>()
            / (n * n);
        (1.0 - chance > 1e-12).then(|| (observed - chance) / (1.0 - chance))
    }
}
