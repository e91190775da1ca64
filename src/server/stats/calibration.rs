//! Calibration of a rater's confidence: a reliability table over equal-width bins and the
//! expected calibration error (ECE), the bins' mean gap between accuracy and confidence
//! weighted by their share of the predictions.

/// Bins of width 0.1 over [0, 1].
pub const BINS: usize = 10;

/// The bin of a confidence, as scikit-learn's `calibration_curve(n_bins=10,
/// strategy="uniform")` puts it: the inner edges are `k * 0.1` (as `numpy.linspace` computes
/// them), and a value on an edge goes to the lower bin; values outside [0, 1] go to the end
/// bins.
pub fn bin(confidence: f64) -> usize {
    (1..BINS)
        .filter(|&k| (k as f64) * (1.0 / BINS as f64) < confidence)
        .count()
}

/// One bin of the reliability table.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bin {
    pub predictions: f64,
    pub right: f64,
    pub confidence_sum: f64,
}

impl Bin {
    pub fn accuracy(&self) -> Option<f64> {
        (self.predictions > 0.0).then(|| self.right / self.predictions)
    }

    pub fn mean_confidence(&self) -> Option<f64> {
        (self.predictions > 0.0).then(|| self.confidence_sum / self.predictions)
    }
}

/// The expected calibration error of the bins; `None` without predictions.
pub fn expected_calibration_error(bins: &[Bin]) -> Option<f64> {
    let total: f64 = bins.iter().map(|b| b.predictions).sum();
    (total > 0.0).then(|| {
        bins.iter()
            .filter_map(|b| {
                Some(b.predictions / total * (b.accuracy()? - b.mean_confidence()?).abs())
            })
            .sum()
    })
}
