//! Every figure against the reference values in `reference.json`. That file is written by
//! `scripts/stats-reference.py` (run as its docstring says): alpha by the `krippendorff`
//! package, kappa by scikit-learn's `cohen_kappa_score`, Kendall's W from
//! `scipy.stats.friedmanchisquare` (W = chi2 / (m (n - 1)), the same tie correction), and raw
//! and pairwise agreement by the script's brute force over every pair, the reliability table
//! by scikit-learn's `calibration_curve` (and the expected calibration error from it),
//! Bradley-Terry strengths by `choix.ilsr_pairwise` (maximum likelihood, ties as half a win
//! each way), and with a length covariate by scikit-learn's `LogisticRegression` without
//! penalty. Each case names its source.

use super::*;
use serde::Deserialize;

const REFERENCE: &str = include_str!("reference.json");

#[derive(Deserialize)]
struct Reference {
    alpha: Vec<AlphaCase>,
    kappa: Vec<KappaCase>,
    raw_agreement: Vec<RawCase>,
    kendall_w: Vec<WCase>,
    pairwise: Vec<PairwiseCase>,
    binomial: Vec<BinomialCase>,
    chisquare: Vec<ChisquareCase>,
    chi2_sf: Vec<Chi2Case>,
    calibration: Vec<CalibrationCase>,
    bradley_terry: Vec<BradleyTerryCase>,
    style_control: Vec<StyleCase>,
}

#[derive(Deserialize)]
struct StyleCase {
    name: String,
    models: usize,
    /// (a, b, score of a, a's length minus b's over their sum).
    comparisons: Vec<(usize, usize, f64, f64)>,
    expected_theta: Vec<f64>,
    expected_beta: f64,
}

#[derive(Deserialize)]
struct BradleyTerryCase {
    name: String,
    models: usize,
    /// (a, b, score of a: 1, 0 or 0.5).
    comparisons: Vec<(usize, usize, f64)>,
    expected_theta: Vec<f64>,
}

#[derive(Deserialize)]
struct CalibrationCase {
    name: String,
    /// As stored (float32, widened).
    confidence: Vec<f64>,
    right: Vec<u8>,
    /// The non-empty bins.
    bins: Vec<CalibrationBin>,
    ece: f64,
}

#[derive(Deserialize)]
struct CalibrationBin {
    bin: usize,
    count: u64,
    accuracy: f64,
    mean_confidence: f64,
}

#[derive(Deserialize)]
struct BinomialCase {
    name: String,
    k: u64,
    n: u64,
    p: f64,
    expected: f64,
}

#[derive(Deserialize)]
struct ChisquareCase {
    name: String,
    observed: Vec<f64>,
    expected: f64,
    statistic: f64,
}

#[derive(Deserialize)]
struct Chi2Case {
    x: f64,
    df: f64,
    expected: f64,
}

#[derive(Deserialize)]
struct AlphaCase {
    name: String,
    level: String,
    data: Vec<Vec<Option<f64>>>,
    expected: Option<f64>,
}

#[derive(Deserialize)]
struct KappaCase {
    name: String,
    a: Vec<i64>,
    b: Vec<i64>,
    expected: Option<f64>,
}

#[derive(Deserialize)]
struct RawCase {
    name: String,
    data: Vec<Vec<Option<f64>>>,
    expected: Option<f64>,
}

#[derive(Deserialize)]
struct WCase {
    name: String,
    tiers: Vec<Vec<Vec<u32>>>,
    objects: u32,
    expected: Option<f64>,
}

#[derive(Deserialize)]
struct PairwiseCase {
    name: String,
    rankings: Vec<Option<Vec<Vec<u32>>>>,
    agree: u64,
    compared: u64,
}

fn reference() -> Reference {
    serde_json::from_str(REFERENCE).expect("reference.json parses")
}

/// Twice the value, so that half ranks are integers; a reference value that is not a
/// multiple of a half would be a fixture error.
fn key(value: f64) -> i64 {
    let doubled = value * 2.0;
    assert_eq!(
        doubled.fract(),
        0.0,
        "value {value} is not a multiple of 1/2"
    );
    doubled as i64
}

/// The values of each unit (column), missing ones left out.
fn units(data: &[Vec<Option<f64>>]) -> Vec<Vec<i64>> {
    let width = data.iter().map(Vec::len).max().unwrap_or(0);
    (0..width)
        .map(|u| {
            data.iter()
                .filter_map(|row| row.get(u).copied().flatten())
                .map(key)
                .collect()
        })
        .collect()
}

fn assert_close(name: &str, got: Option<f64>, expected: Option<f64>) {
    match (got, expected) {
        (Some(g), Some(e)) => assert!(
            (g - e).abs() <= 1e-9 * e.abs().max(1.0),
            "{name}: got {g}, reference {e}"
        ),
        (None, None) => {}
        _ => panic!("{name}: got {got:?}, reference {expected:?}"),
    }
}

#[test]
fn alpha_matches_the_krippendorff_package() {
    let cases = reference().alpha;
    assert!(cases.len() >= 8, "the reference has its alpha cases");
    for case in cases {
        let level = match case.level.as_str() {
            "nominal" => Level::Nominal,
            "ordinal" => Level::Ordinal,
            "interval" => Level::Interval,
            other => panic!("{}: level {other}", case.name),
        };
        let mut matrix = Coincidences::new();
        for unit in units(&case.data) {
            matrix.add_unit(&unit);
        }
        assert_close(&case.name, matrix.alpha(level), case.expected);
    }
}

#[test]
fn alpha_from_running_sums_equals_alpha_from_units() {
    // What the store does: sum each unit's cells, then take some units away again.
    let case = reference()
        .alpha
        .into_iter()
        .max_by_key(|c| c.data.first().map_or(0, Vec::len))
        .unwrap();
    let units = units(&case.data);
    let mut whole = Coincidences::new();
    let mut running: Vec<((i64, i64), f64)> = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let mut one = Coincidences::new();
        one.add_unit(unit);
        running.extend(one.cells());
        if i % 3 == 0 {
            // added, then removed: as when an annotation is edited
            running.extend(one.cells().map(|(k, o)| (k, -o)));
        } else {
            whole.add_unit(unit);
        }
    }
    let summed = Coincidences::from_cells(running);
    for level in [Level::Nominal, Level::Ordinal, Level::Interval] {
        assert_close(&case.name, summed.alpha(level), whole.alpha(level));
    }
}

#[test]
fn kappa_matches_scikit_learn() {
    let cases = reference().kappa;
    assert!(cases.len() >= 5);
    for case in cases {
        assert_eq!(case.a.len(), case.b.len(), "{}", case.name);
        let mut table = Contingency::new();
        for (&a, &b) in case.a.iter().zip(&case.b) {
            table.add(a, b);
        }
        assert_close(&case.name, table.kappa(), case.expected);
    }
}

#[test]
fn raw_agreement_matches_the_brute_force() {
    let cases = reference().raw_agreement;
    assert!(cases.len() >= 3);
    for case in cases {
        let mut agreeing = 0.0;
        let mut pairs = 0.0;
        for unit in units(&case.data) {
            let (a, p) = unit_agreement(&unit);
            agreeing += a;
            pairs += p;
        }
        let got = (pairs > 0.0).then(|| agreeing / pairs);
        assert_close(&case.name, got, case.expected);
    }
}

#[test]
fn kendall_w_matches_scipy_friedman() {
    let cases = reference().kendall_w;
    assert!(cases.len() >= 5);
    for case in cases {
        let objects: Vec<u32> = (0..case.objects).collect();
        let rankings: Vec<&[Vec<u32>]> = case.tiers.iter().map(Vec::as_slice).collect();
        assert_close(&case.name, kendall_w(&objects, &rankings), case.expected);
    }
}

#[test]
fn pairwise_agreement_matches_the_brute_force() {
    let cases = reference().pairwise;
    assert!(cases.len() >= 5);
    for case in cases {
        let ranked: Vec<&Vec<Vec<u32>>> = case.rankings.iter().flatten().collect();
        let mut total = Agreement::default();
        for (i, first) in ranked.iter().enumerate() {
            for second in &ranked[i + 1..] {
                total += pairwise(first, second);
            }
        }
        assert_eq!(
            (total.agree, total.compared),
            (case.agree, case.compared),
            "{}",
            case.name
        );
    }
}

#[test]
fn mid_ranks_share_the_ranks_a_tie_spans() {
    let ranks = mid_ranks(&[vec!['a'], vec!['b', 'c'], vec!['d']]);
    assert_eq!(
        ranks.into_iter().collect::<Vec<_>>(),
        [('a', 1.0), ('b', 2.5), ('c', 2.5), ('d', 4.0)]
    );
}

/// Relative closeness for p-values, which span hundreds of orders of magnitude.
fn assert_relative(what: &str, got: f64, expected: f64, tolerance: f64) {
    let scale = expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        (got - expected).abs() <= tolerance * scale || (got - expected).abs() < 1e-300,
        "{what}: got {got:e}, reference {expected:e}"
    );
}

#[test]
fn the_binomial_test_matches_scipy_binomtest() {
    let cases = reference().binomial;
    assert!(cases.len() >= 10);
    for c in cases {
        let got = significance::binomial_two_sided(c.k, c.n, c.p);
        assert_relative(&c.name, got, c.expected, 1e-9);
    }
}

#[test]
fn the_chi_square_test_matches_scipy_chisquare() {
    let cases = reference().chisquare;
    assert!(cases.len() >= 8);
    for c in cases {
        let (statistic, p) = significance::chisquare_uniform(&c.observed).unwrap();
        assert_relative(&c.name, statistic, c.statistic, 1e-12);
        assert_relative(&c.name, p, c.expected, 1e-9);
    }
}

#[test]
fn the_chi_square_survival_function_matches_scipy() {
    let cases = reference().chi2_sf;
    assert!(cases.len() >= 20);
    for c in cases {
        let got = significance::chi2_sf(c.x, c.df);
        assert_relative(
            &format!("chi2.sf({}, {})", c.x, c.df),
            got,
            c.expected,
            1e-9,
        );
    }
}

#[test]
fn reliability_bins_and_ece_match_scikit_learn() {
    let cases = reference().calibration;
    assert!(cases.len() >= 2);
    for case in cases {
        let mut bins = [calibration::Bin::default(); calibration::BINS];
        for (&c, &right) in case.confidence.iter().zip(&case.right) {
            let b = &mut bins[calibration::bin(c)];
            b.predictions += 1.0;
            b.right += f64::from(right);
            b.confidence_sum += c;
        }
        let filled: Vec<usize> = (0..calibration::BINS)
            .filter(|&k| bins[k].predictions > 0.0)
            .collect();
        let expected: Vec<usize> = case.bins.iter().map(|b| b.bin).collect();
        assert_eq!(filled, expected, "{}: the bins used", case.name);
        for b in &case.bins {
            let got = &bins[b.bin];
            assert_eq!(
                got.predictions as u64, b.count,
                "{}: bin {}",
                case.name, b.bin
            );
            assert_close(&case.name, got.accuracy(), Some(b.accuracy));
            assert_close(&case.name, got.mean_confidence(), Some(b.mean_confidence));
        }
        assert_close(
            &case.name,
            calibration::expected_calibration_error(&bins),
            Some(case.ece),
        );
    }
    assert_eq!(calibration::expected_calibration_error(&[]), None);
}

#[test]
fn bradley_terry_matches_choix() {
    for case in reference().bradley_terry {
        let comparisons: Vec<bradley_terry::Comparison> = case
            .comparisons
            .iter()
            .map(|&(a, b, score)| bradley_terry::Comparison { a, b, score })
            .collect();
        let fit = bradley_terry::fit(case.models, &comparisons);
        assert!(!fit.regularized, "{}", case.name);
        for (i, (got, expected)) in fit.theta.iter().zip(&case.expected_theta).enumerate() {
            assert!(
                (got - expected).abs() < 1e-7,
                "{}: model {i}: {got} against choix's {expected}",
                case.name
            );
        }
    }
}

#[test]
fn style_control_matches_a_logistic_regression() {
    for case in reference().style_control {
        let data: Vec<style::Styled> = case
            .comparisons
            .iter()
            .map(|&(a, b, score, d)| style::Styled {
                comparison: bradley_terry::Comparison { a, b, score },
                difference: vec![d],
            })
            .collect();
        let fit = style::fit(case.models, 1, &data);
        assert!(!fit.regularized, "{}", case.name);
        for (i, (got, expected)) in fit.theta.iter().zip(&case.expected_theta).enumerate() {
            assert!(
                (got - expected).abs() < 1e-7,
                "{}: model {i}: {got} against scikit-learn's {expected}",
                case.name
            );
        }
        assert!(
            (fit.beta[0] - case.expected_beta).abs() < 1e-7,
            "{}: beta {} against scikit-learn's {}",
            case.name,
            fit.beta[0],
            case.expected_beta
        );
    }
}
