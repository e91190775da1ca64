//! Krippendorff's alpha from a coincidence matrix (Krippendorff 2011, "Computing
//! Krippendorff's alpha-reliability"). Values are integers: 0/1 for thumbs and flags, twice
//! the (mid-)rank for rankings, so that a tie's half ranks stay exact. The matrix is
//! additive over units, which lets the store keep running sums of it.

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Values are categories: any two different values disagree equally.
    Nominal,
    /// Values are ordered: disagreement grows with the number of values between them.
    Ordinal,
    /// Values are numbers: disagreement is the squared difference (rubric scores).
    Interval,
}

/// o_ck: how often value c was paired with value k within a unit, each unit's pairs weighted
/// by 1 / (m_u - 1) so that every pairable value counts once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coincidences {
    cells: BTreeMap<(i64, i64), f64>,
}

impl Coincidences {
    pub fn new() -> Self {
        Self::default()
    }

    /// From cells summed elsewhere (the store's running totals).
    pub fn from_cells(cells: impl IntoIterator<Item = ((i64, i64), f64)>) -> Self {
        let mut m = Self::new();
        for (key, o) in cells {
            *m.cells.entry(key).or_default() += o;
        }
        m
    }

    /// The contribution of one unit: the values its coders gave (missing ones left out). A
    /// unit with fewer than two values is not pairable and adds nothing.
    pub fn add_unit(&mut self, values: &[i64]) {
        let m = values.len();
        if m < 2 {
            return;
        }
        let weight = 1.0 / (m - 1) as f64;
        for (i, &c) in values.iter().enumerate() {
            for (j, &k) in values.iter().enumerate() {
                if i != j {
                    *self.cells.entry((c, k)).or_default() += weight;
                }
            }
        }
    }

    pub fn cells(&self) -> impl Iterator<Item = ((i64, i64), f64)> + '_ {
        self.cells.iter().map(|(&k, &o)| (k, o))
    }

    /// The number of pairable values (n..).
    pub fn pairable(&self) -> f64 {
        self.cells.values().sum()
    }

    /// Alpha = 1 - D_o / D_e; `None` when it is undefined (fewer than two pairable values,
    /// or all of them the same, so that no disagreement could be expected).
    pub fn alpha(&self, level: Level) -> Option<f64> {
        let mut marginals: BTreeMap<i64, f64> = BTreeMap::new();
        for (&(c, _), &o) in &self.cells {
            *marginals.entry(c).or_default() += o;
        }
        let n: f64 = marginals.values().sum();
        if n <= 1.0 {
            return None;
        }
        let delta = Distance::new(level, &marginals);
        let observed: f64 = self
            .cells
            .iter()
            .map(|(&(c, k), &o)| o * delta.squared(c, k))
            .sum();
        let values: Vec<(i64, f64)> = marginals.into_iter().collect();
        let mut expected = 0.0;
        for &(c, nc) in &values {
            for &(k, nk) in &values {
                expected += nc * nk * delta.squared(c, k);
            }
        }
        // Running sums may leave a residue of rounding where a value has gone.
        if expected <= 1e-9 * n * n {
            return None;
        }
        Some(1.0 - (n - 1.0) * observed / expected)
    }
}

/// The squared difference function of a level of measurement.
enum Distance {
    Nominal,
    Interval,
    /// For each value, the sum of the marginals of the values below it and its own.
    Ordinal(BTreeMap<i64, (f64, f64)>),
}

impl Distance {
    fn new(level: Level, marginals: &BTreeMap<i64, f64>) -> Self {
        match level {
            Level::Nominal => Self::Nominal,
            Level::Interval => Self::Interval,
            Level::Ordinal => {
                let mut below = 0.0;
                let mut at = BTreeMap::new();
                for (&v, &n) in marginals {
                    at.insert(v, (below, n));
                    below += n;
                }
                Self::Ordinal(at)
            }
        }
    }

    fn squared(&self, c: i64, k: i64) -> f64 {
        match self {
            Self::Nominal => f64::from(u8::from(c != k)),
            Self::Interval => ((c - k) as f64).powi(2),
            Self::Ordinal(at) => {
                if c == k {
                    return 0.0;
                }
                let (lo, hi) = if c < k { (c, k) } else { (k, c) };
                let (below_lo, n_lo) = at.get(&lo).copied().unwrap_or_default();
                let (below_hi, n_hi) = at.get(&hi).copied().unwrap_or_default();
                // Sum of n_g for lo <= g <= hi, less half of the two ends.
                let span = below_hi + n_hi - below_lo;
                let d = span - (n_lo + n_hi) / 2.0;
                d * d
            }
        }
    }
}

/// Raw (percent) agreement within one unit: the ordered pairs of its values that are equal,
/// and all ordered pairs, sum_c n_c (n_c - 1) and m (m - 1). Summed over units, their ratio
/// is the share of annotator pairs that gave the same value.
pub fn unit_agreement(values: &[i64]) -> (f64, f64) {
    let m = values.len() as f64;
    if values.len() < 2 {
        return (0.0, 0.0);
    }
    let mut counts: BTreeMap<i64, f64> = BTreeMap::new();
    for &v in values {
        *counts.entry(v).or_default() += 1.0;
    }
    let same = counts.values().map(|n| n * (n - 1.0)).sum();
    (same, m * (m - 1.0))
}
