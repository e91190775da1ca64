#!/usr/bin/env python3
"""Reference values for Verdict's agreement statistics (src/server/stats).

Computes, on fixed data sets, the expected value of every statistic that
`src/server/stats` implements, using well-known packages where one exists:

* Krippendorff's alpha (nominal, ordinal, interval): `krippendorff.alpha`
* Cohen's kappa: `sklearn.metrics.cohen_kappa_score`
* Kendall's W with the tie correction: `scipy.stats.friedmanchisquare`,
  W = chi2 / (m (n - 1)) (the direct formula for 2 objects, where scipy refuses)
* raw (pairwise percent) agreement and pairwise preference agreement: brute
  force over every pair, as no package has them.
* the two-sided binomial test: `scipy.stats.binomtest(k, n, p).pvalue`, checked
  against an exact rational sum over the outcomes no more likely than k
* Pearson's chi-squared goodness-of-fit test against uniform frequencies:
  `scipy.stats.chisquare(observed)` (statistic and p-value), the statistic
  checked against exact rational arithmetic
* the chi-squared survival function `scipy.stats.chi2.sf(x, df)` on its own, to
  check a regularized upper incomplete gamma function Q(df/2, x/2) directly.
* calibration of the judge's confidence: the reliability table by
  `sklearn.calibration.calibration_curve(n_bins=10, strategy="uniform")` (accuracy
  and mean confidence of each non-empty bin), with the bins' counts from the same
  `numpy.searchsorted` over `numpy.linspace` edges that scikit-learn uses, and the
  expected calibration error as the count-weighted mean of |accuracy - confidence|
  over those bins. Confidences pass through float32 first, as PostgreSQL's `real`
  stores them.
* agreement with the leave-one-out consensus (scorecards): for each annotator and
  item, the other labels' consensus ranking (mean of `scipy.stats.rankdata(method=
  "average")` ranks, equal means tied, exact with `fractions.Fraction`) and
  majority thumbs (strict majority), then pairwise agreement by brute force and
  Cohen's kappa of (own thumb, majority thumb) by `sklearn.metrics.cohen_kappa_score`.
* Bradley-Terry strengths (the model leaderboard) by maximum likelihood:
  `choix.ilsr_pairwise(alpha=0)`, ties as half a win each way.
* Bradley-Terry with a length covariate (the leaderboard's length control):
  `sklearn.linear_model.LogisticRegression(C=inf, fit_intercept=False)` on the
  comparisons' design matrix, ties as two half-weight rows.

The data sets are defined here: small hand-written ones for the edge cases and
a few larger ones drawn from `numpy.random.default_rng` with fixed seeds. Every
input is written out in full, so the Rust tests (src/server/stats/tests.rs)
read the data from the JSON and never regenerate it. An undefined statistic is
written as null; NaN never appears.

Run (from the repository root):

    python3 -m venv /tmp/statsref && \
    /tmp/statsref/bin/pip install -r scripts/stats-reference.requirements.txt && \
    /tmp/statsref/bin/python scripts/stats-reference.py > src/server/stats/reference.json
"""

import itertools
import json
import math
import sys
import warnings
from fractions import Fraction
from importlib.metadata import version

import choix
import krippendorff
import numpy as np
from scipy.stats import binomtest, chi2, chisquare, friedmanchisquare, rankdata
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

N = None  # a missing value in a coders x units matrix


def plain(x):
    """A numpy scalar or nested array as plain JSON values (ints where integral, NaN -> None)."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [plain(v) for v in x]
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = float(x)
    return int(x) if x.is_integer() else x


def finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------- alpha

def alpha_case(name, level, data, note=""):
    matrix = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    source = f'krippendorff.alpha(level_of_measurement="{level}")'
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when D_e = 0
            value = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
        expected = finite_or_none(value)
        if expected is None:
            source += "; the package returns nan (expected disagreement 0), written as null"
    except ValueError as e:
        expected = None
        source += f"; the package raises ValueError ({e}), written as null"
    return {"name": name, "level": level, "data": plain(data), "expected": expected,
            "source": source + (f"; {note}" if note else "")}


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# 4 coders x 12 units with missing values; nominal 0.743, ordinal 0.815.
TEXTBOOK = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


def generated_nominal(seed, coders, units, missing, p_right):
    """Binary labels: each unit has a true label, each coder gives it with p_right."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, size=units)
    right = rng.random((coders, units)) < p_right
    labels = np.where(right, truth, 1 - truth).astype(float)
    labels[rng.random((coders, units)) < missing] = np.nan
    return labels


def generated_ordinal(seed, coders, units, missing):
    """Mid-rank values (1, 1.5, ..., 4): a true rank per unit plus noise, rounded to halves."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 5, size=units)
    noisy = truth + rng.normal(0.0, 0.7, size=(coders, units))
    values = np.clip(np.round(noisy * 2) / 2, 1.0, 4.0)
    values[rng.random((coders, units)) < missing] = np.nan
    return values


def generated_scores(seed, coders, units, missing, low, high):
    """Rubric scores low..high: a true score per unit plus noise, rounded and clipped."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(low, high + 1, size=units)
    noisy = truth + rng.normal(0.0, 0.9, size=(coders, units))
    values = np.clip(np.round(noisy), low, high)
    values[rng.random((coders, units)) < missing] = np.nan
    return values


def alpha_cases():
    nominal_big = generated_nominal(seed=20261201, coders=12, units=300, missing=0.4, p_right=0.8)
    ordinal_big = generated_ordinal(seed=20261202, coders=6, units=200, missing=0.25)
    scores_big = generated_scores(seed=20261207, coders=5, units=240, missing=0.3, low=1, high=5)
    return [
        alpha_case("krippendorff 2011 example, nominal", "nominal", TEXTBOOK,
                   "Krippendorff (2011) gives 0.743"),
        alpha_case("krippendorff 2011 example, ordinal", "ordinal", TEXTBOOK,
                   "Krippendorff (2011) gives 0.815"),
        alpha_case("binary, two coders, missing values", "nominal",
                   [[1, 1, 0, 1, N, 0, 1, 1],
                    [1, 0, 0, 1, 1, N, 1, 0]]),
        alpha_case("binary, three coders, missing values", "nominal",
                   [[1, 1, 0, N, 0, 1, 1, 0, 1, N],
                    [1, N, 0, 1, 0, 1, 0, 0, 1, 1],
                    [N, 1, 1, 1, 0, N, 1, 0, 1, 0]]),
        alpha_case("unit with one value, a value seen nowhere else", "nominal",
                   [[0, 1, 2, 3, N, 1],
                    [0, 1, 2, N, N, 2],
                    [0, 2, N, N, N, 1]],
                   "unit 4 has the only 3 and is not pairable; unit 5 has no value"),
        alpha_case("perfect agreement, four categories", "nominal",
                   [[0, 1, 2, 3, 1, N],
                    [0, 1, 2, 3, N, 2],
                    [0, N, 2, 3, 1, 2]]),
        alpha_case("systematic disagreement, binary", "nominal",
                   [[0, 1, 0, 1, 0, 1],
                    [1, 0, 1, 0, 1, 0]]),
        alpha_case("undefined: every value the same", "nominal",
                   [[1, 1, 1, N],
                    [1, 1, N, 1]]),
        alpha_case("undefined: every pairable value the same, one unpairable other", "nominal",
                   [[1, 1, 1, 0],
                    [1, 1, 1, N]]),
        alpha_case("undefined: no unit has two values", "nominal",
                   [[0, N, 1],
                    [N, 1, N]]),
        alpha_case("ordinal, mid-ranks, three coders", "ordinal",
                   [[1, 1.5, 2, 3, 3.5, 4, 2, N],
                    [1, 1.5, 2.5, 3, 4, 3.5, N, 1],
                    [1.5, 1, 2, 3.5, 3.5, 4, 3, 1.5]]),
        alpha_case("ordinal, perfect agreement", "ordinal",
                   [[1, 1.5, 3, 4, 2.5],
                    [1, 1.5, 3, 4, N],
                    [N, 1.5, 3, 4, 2.5]]),
        alpha_case("ordinal, systematic disagreement", "ordinal",
                   [[1, 4, 1.5, 3.5, 1, 4],
                    [4, 1, 3.5, 1.5, 4, 1]]),
        alpha_case("ordinal, unpairable value between pairable ones", "ordinal",
                   [[1, 3, 4, 2.5, 1],
                    [1.5, 3, 4, N, 1],
                    [1, 3.5, N, N, 1.5]],
                   "2.5 is only in unit 3, which has one value, so it weighs nothing"),
        alpha_case("undefined: ordinal, every pairable value the same", "ordinal",
                   [[2.5, 2.5, 4],
                    [2.5, 2.5, N]]),
        alpha_case("generated: 12 coders x 300 units, binary, ~40% missing", "nominal",
                   nominal_big, "numpy.random.default_rng(20261201)"),
        alpha_case("generated: 6 coders x 200 units, ordinal mid-ranks, ~25% missing", "ordinal",
                   ordinal_big, "numpy.random.default_rng(20261202)"),
        alpha_case("generated: 6 coders x 200 units, same data, nominal", "nominal",
                   ordinal_big, "numpy.random.default_rng(20261202)"),
        # Rubric scores (interval and ordinal) and preference strengths (ordinal, signed:
        # -3 "much better" the other way ... 0 "about the same" ... 3 "much better").
        alpha_case("krippendorff 2011 example, interval", "interval", TEXTBOOK,
                   "Krippendorff (2011) gives 0.849"),
        alpha_case("rubric 1-5, three coders, missing values", "interval",
                   [[5, 4, 2, 3, 1, 4, N, 5, 2],
                    [4, 4, 1, 3, 2, 5, 3, N, 2],
                    [5, 3, 2, N, 1, 4, 3, 4, N]]),
        alpha_case("rubric 1-5, same data, ordinal", "ordinal",
                   [[5, 4, 2, 3, 1, 4, N, 5, 2],
                    [4, 4, 1, 3, 2, 5, 3, N, 2],
                    [5, 3, 2, N, 1, 4, 3, 4, N]]),
        alpha_case("yes/no criterion, interval", "interval",
                   [[1, 0, 1, 1, 0, N],
                    [1, 0, 0, 1, 0, 1],
                    [N, 0, 1, 1, 1, 1]],
                   "on two values the interval alpha is the nominal one"),
        alpha_case("rubric 1-7, two coders, one apart", "interval",
                   [[7, 6, 5, 4, 3, 2],
                    [6, 5, 4, 3, 2, 1]]),
        alpha_case("undefined: interval, every pairable value the same", "interval",
                   [[3, 3, 5],
                    [3, 3, N]]),
        alpha_case("signed strengths, four steps, three coders", "ordinal",
                   [[3, 2, -1, 0, 1, -3, 2, N],
                    [2, 2, -1, 1, 0, -2, N, 1],
                    [3, 1, -2, 0, N, -3, 3, 1]]),
        alpha_case("generated: 5 coders x 240 units, rubric 1-5, ~30% missing", "interval",
                   scores_big, "numpy.random.default_rng(20261207)"),
        alpha_case("generated: 5 coders x 240 units, same data, ordinal", "ordinal",
                   scores_big, "numpy.random.default_rng(20261207)"),
    ]


# ---------------------------------------------------------------- kappa

def kappa_case(name, a, b, note=""):
    assert len(a) == len(b)
    source = "sklearn.metrics.cohen_kappa_score(a, b)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning / RuntimeWarning when undefined
        value = cohen_kappa_score(a, b)
    expected = finite_or_none(value)
    if expected is None:
        source += "; returns nan (chance agreement is 1), written as null"
    return {"name": name, "a": plain(a), "b": plain(b), "expected": expected,
            "source": source + (f"; {note}" if note else "")}


def kappa_cases():
    rng = np.random.default_rng(20261203)
    a = rng.choice(3, size=500, p=[0.5, 0.3, 0.2])
    b = np.where(rng.random(500) < 0.7, a, rng.choice(3, size=500, p=[0.3, 0.4, 0.3]))
    return [
        kappa_case("perfect agreement", [0, 1, 2, 0, 1, 2, 2], [0, 1, 2, 0, 1, 2, 2]),
        kappa_case("chance level", [0, 0, 1, 1], [0, 1, 0, 1]),
        kappa_case("negative: always opposite", [0, 1, 0, 1, 1], [1, 0, 1, 0, 0]),
        kappa_case("negative, three categories", [0, 1, 2, 0, 1, 2], [1, 2, 0, 2, 0, 1]),
        kappa_case("undefined: both always the same single label", [1, 1, 1, 1], [1, 1, 1, 1]),
        kappa_case("one rater constant, the other not", [1, 1, 1, 1], [1, 0, 1, 1]),
        kappa_case("unequal marginals", [0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
                   [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
        kappa_case("label used by one rater only, sparse label values",
                   [2, 7, 7, 11, 2, 2, 7, 11], [2, 7, 11, 11, 2, 40, 7, 2]),
        kappa_case("undefined: a single unit", [3], [3]),
        kappa_case("generated: 500 labels, 3 categories", a, b, "numpy.random.default_rng(20261203)"),
    ]


# ---------------------------------------------------------------- raw agreement

def raw_case(name, data, note=""):
    rows = [list(r) for r in data]
    agree = pairs = 0
    for u in range(len(rows[0])):  # brute force: every ordered pair of coders in a unit
        for i, j in itertools.permutations(range(len(rows)), 2):
            if rows[i][u] is not None and rows[j][u] is not None:
                pairs += 1
                agree += rows[i][u] == rows[j][u]
    f_agree = f_pairs = 0  # formula: sum n_uc (n_uc - 1) / sum m_u (m_u - 1), m_u >= 2
    for u in range(len(rows[0])):
        values = [r[u] for r in rows if r[u] is not None]
        if len(values) >= 2:
            f_agree += sum(values.count(c) * (values.count(c) - 1) for c in set(values))
            f_pairs += len(values) * (len(values) - 1)
    assert (agree, pairs) == (f_agree, f_pairs), name
    return {"name": name, "data": plain(rows), "expected": agree / pairs if pairs else None,
            "source": "brute force over ordered pairs of coders within each unit (no package has it), "
                      "checked equal to sum n_uc(n_uc-1) / sum m_u(m_u-1)"
                      + ("; null: no unit has two values" if not pairs else "")
                      + (f"; {note}" if note else "")}


def raw_cases():
    rng = np.random.default_rng(20261204)
    truth = rng.integers(0, 3, size=100)
    gen = np.where(rng.random((8, 100)) < 0.7, truth, rng.integers(0, 3, size=(8, 100)))
    gen = [[None if rng.random() < 0.3 else int(v) for v in row] for row in gen]
    return [
        raw_case("krippendorff 2011 example", TEXTBOOK),
        raw_case("binary, two coders, missing values",
                 [[1, 1, 0, 1, N, 0, 1, 1],
                  [1, 0, 0, 1, 1, N, 1, 0]]),
        raw_case("units of different sizes",
                 [[0, 1, 2, N, 3, 1],
                  [0, 1, N, N, 3, 2],
                  [0, 2, N, 1, 2, 2],
                  [1, N, N, N, 3, 2]]),
        raw_case("perfect agreement", [[0, 1, 2, N], [0, 1, 2, 3], [N, 1, 2, 3]]),
        raw_case("no agreement", [[0, 1, 0], [1, 0, 1]]),
        raw_case("undefined: no unit has two values", [[0, N, 1], [N, 1, N]]),
        raw_case("generated: 8 coders x 100 units, 3 categories, ~30% missing", gen,
                 "numpy.random.default_rng(20261204)"),
    ]


# ---------------------------------------------------------------- rankings

def tier_index(tiers, objects):
    """Position of each object's tier (0 = best); checks that every object appears once."""
    index = {o: p for p, tier in enumerate(tiers) for o in tier}
    assert sorted(o for tier in tiers for o in tier) == list(range(objects)), tiers
    return [index[o] for o in range(objects)]


def kendall_case(name, tiers, objects):
    m, n = len(tiers), objects
    ranks = np.array([rankdata(tier_index(t, n), method="average") for t in tiers])
    ties = sum(len(tier) ** 3 - len(tier) for t in tiers for tier in t)
    denominator = m * m * (n ** 3 - n) - m * ties
    s = float(((ranks.sum(axis=0) - m * (n + 1) / 2) ** 2).sum())
    direct = 12 * s / denominator if denominator else None
    if n >= 3 and m >= 2:
        source = "scipy.stats.friedmanchisquare(*columns): W = chi2 / (m (n - 1))"
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # division by 0 when everything is tied
            chi2 = friedmanchisquare(*ranks.T).statistic
        expected = finite_or_none(chi2 / (m * (n - 1)))
        assert (expected is None) == (direct is None), name
        if expected is not None:
            assert abs(expected - direct) <= 1e-12, (name, expected, direct)
    else:
        source = "direct formula 12 S / (m^2 (n^3 - n) - m sum(t^3 - t)) (scipy needs n >= 3)"
        expected = direct
    if expected is None:
        source += "; null: every rater tied everything (denominator 0)"
    return {"name": name, "tiers": tiers, "objects": n, "expected": expected, "source": source}


def random_ranking(rng, objects, p_cut=0.7, bias=None):
    """A random ranking in tier form: a (biased) shuffle cut into tiers at random gaps."""
    scores = rng.random(objects) + (0 if bias is None else bias)
    order = [int(o) for o in np.argsort(-scores, kind="stable")]
    tiers = [[order[0]]]
    for o in order[1:]:
        if rng.random() < p_cut:
            tiers.append([o])
        else:
            tiers[-1].append(o)
    return [sorted(t) for t in tiers]


def kendall_cases():
    rng = np.random.default_rng(20261205)
    bias = np.linspace(1.0, 0.0, 6)  # raters tend to prefer low-numbered objects
    generated = [random_ranking(rng, 6, bias=bias) for _ in range(10)]
    full = [[0], [1], [2], [3]]
    return [
        kendall_case("full agreement, 3 raters x 4 objects", [full, full, full], 4),
        kendall_case("complete reversal, 2 raters x 4 objects", [full, full[::-1]], 4),
        kendall_case("ties, 3 raters x 5 objects",
                     [[[0, 1], [2], [3, 4]], [[0], [1, 2, 3], [4]], [[1], [0], [2], [4], [3]]], 5),
        kendall_case("one rater ties everything", [[[0, 1, 2]], [[0], [1], [2]], [[0], [2], [1]]], 3),
        kendall_case("undefined: every rater ties everything", [[[0, 1, 2]], [[0, 1, 2]]], 3),
        kendall_case("2 objects, 3 raters, one dissents", [[[0], [1]], [[0], [1]], [[1], [0]]], 2),
        kendall_case("2 objects, a tie", [[[0], [1]], [[0, 1]]], 2),
        kendall_case("undefined: 2 objects, all tied", [[[0, 1]], [[0, 1]], [[0, 1]]], 2),
        kendall_case("5 raters x 4 objects",
                     [[[0], [1], [2], [3]], [[1], [0], [2], [3]], [[0], [2], [1], [3]],
                      [[0], [1], [3], [2]], [[3], [0], [1], [2]]], 4),
        kendall_case("generated: 10 raters x 6 objects, random ties", generated, 6),
    ]


def pairwise_case(name, rankings, objects, note=""):
    positions = [tier_index(r, objects) for r in rankings if r is not None]
    agree = compared = 0
    for p, q in itertools.combinations(positions, 2):
        for x, y in itertools.combinations(range(objects), 2):
            compared += 1
            # relation: -1 x above y, 1 y above x, 0 tie (same tier)
            agree += np.sign(p[x] - p[y]) == np.sign(q[x] - q[y])
    return {"name": name, "rankings": rankings, "objects": objects, "agree": int(agree),
            "compared": compared,
            "source": "brute force over unordered rater pairs x unordered object pairs; "
                      "a tie agrees only with a tie" + (f"; {note}" if note else "")}


def pairwise_cases():
    rng = np.random.default_rng(20261206)
    bias = np.linspace(0.8, 0.0, 5)
    generated = [random_ranking(rng, 5, bias=bias) for _ in range(7)]
    full = [[0], [1], [2], [3]]
    return [
        pairwise_case("all agree", [full, full, full], 4),
        pairwise_case("one dissenter", [full, full, [[1], [0], [2], [3]]], 4),
        pairwise_case("ties both sides", [[[0, 1], [2]], [[0, 1], [2]]], 3),
        pairwise_case("tie vs strict", [[[0, 1], [2]], [[0], [1], [2]]], 3),
        pairwise_case("a null rater", [full, None, [[0], [2], [1], [3]]], 4, "null is left out"),
        pairwise_case("a single rater", [full], 4),
        pairwise_case("a single rater and a null one", [None, full], 4),
        pairwise_case("reversal with ties", [[[0], [1, 2], [3]], [[3], [1, 2], [0]], [[0, 1, 2, 3]]], 4),
        pairwise_case("generated: 7 raters x 5 objects", generated, 5, "numpy.random.default_rng(20261206)"),
    ]


# ---------------------------------------------------------------- binomial test

BINOM_RERR = 1 + 1e-7  # scipy's relative tolerance in binomtest's two-sided p-value


def binomial_case(name, k, n, p, note=""):
    value = float(binomtest(k, n, p, alternative="two-sided").pvalue)
    # exact check: with the float p taken as the rational it is, sum the outcomes
    # whose probability is at most pmf(k) * (1 + 1e-7), as scipy does
    q = Fraction(p)
    pmf = [math.comb(n, i) * q ** i * (1 - q) ** (n - i) for i in range(n + 1)]
    limit = pmf[k] * Fraction(BINOM_RERR)
    exact = min(Fraction(1), sum(x for x in pmf if x <= limit))
    assert abs(value - float(exact)) <= 1e-9 * float(exact), (name, value, float(exact))
    return {"name": name, "k": k, "n": n, "p": float(p), "expected": value,
            "source": 'scipy.stats.binomtest(k, n, p, alternative="two-sided").pvalue: '
                      "the sum of P(X = i) over every i with P(X = i) <= P(X = k) (1 + 1e-7), "
                      "capped at 1; checked against the exact rational sum"
                      + (f"; {note}" if note else "")}


def binomial_cases():
    return [
        binomial_case("k = 0", 0, 10, 0.3),
        binomial_case("k = n", 10, 10, 0.7),
        binomial_case("k = n p exactly", 3, 12, 0.25, "scipy returns 1 directly when k == p * n"),
        binomial_case("small n, p = 0.5", 1, 5, 0.5),
        binomial_case("small n, p = 0.5, mirror image", 4, 5, 0.5, "equal to k = 1 by symmetry"),
        binomial_case("p = 0.5, the tail on the other side has the same probabilities", 7, 20, 0.5,
                      "k = 13 ties k = 7 and is counted"),
        binomial_case("p = 1/3, above the mean", 9, 15, 1 / 3),
        binomial_case("p = 1/3, below the mean", 1, 15, 1 / 3),
        binomial_case("p = 1/4, below the mean", 2, 20, 0.25),
        binomial_case("p = 1/4, above the mean", 9, 20, 0.25),
        binomial_case("large n", 560, 2000, 0.25),
        binomial_case("tiny p-value", 95, 100, 0.5),
        binomial_case("n = 1, p = 0.5", 0, 1, 0.5),
        binomial_case("n = 1, the less likely outcome", 1, 1, 0.3),
    ]


# ---------------------------------------------------------------- chi-squared test

def chisquare_case(name, observed, note=""):
    result = chisquare(observed)
    statistic, value = float(result.statistic), float(result.pvalue)
    total, cells = sum(observed), len(observed)
    exact = sum((Fraction(o) - Fraction(total, cells)) ** 2 / Fraction(total, cells) for o in observed)
    assert abs(statistic - float(exact)) <= 1e-12 * max(1.0, float(exact)), (name, statistic, exact)
    return {"name": name, "observed": observed, "expected": value, "statistic": statistic,
            "source": "scipy.stats.chisquare(observed): uniform expected frequencies, ddof 0, "
                      "so df = categories - 1; the statistic checked against exact rational "
                      "arithmetic" + (f"; {note}" if note else "")}


def chisquare_cases():
    return [
        chisquare_case("perfectly uniform", [25, 25, 25, 25]),
        chisquare_case("2 categories", [30, 20]),
        chisquare_case("3 categories", [12, 7, 11]),
        chisquare_case("4 categories", [18, 25, 30, 27]),
        chisquare_case("8 categories", [9, 14, 12, 6, 11, 15, 8, 13]),
        chisquare_case("large skew, tiny p-value", [100, 10, 10]),
        chisquare_case("counts with zeros", [0, 5, 0, 7, 3]),
        chisquare_case("small total", [1, 0, 0]),
        chisquare_case("large totals", [2500, 2400, 2600, 2500]),
        chisquare_case("2 categories, all in one", [12, 0]),
    ]


def chi2_sf_case(x, df):
    return {"x": x, "df": df, "expected": float(chi2.sf(x, df))}


def chi2_sf_cases():
    points = [
        (0, 1), (0, 2), (0, 10),
        (0.001, 1), (0.001, 2), (0.001, 3), (0.001, 10),
        (0.5, 1), (1, 1), (3.841458820694124, 1), (10, 1),
        (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9),
        (10, 10), (5, 10), (25, 10), (20, 20), (30, 20), (50, 50), (40, 50),
        (100, 1), (100, 10), (100, 50),
        (300, 1), (300, 20), (300, 50),
    ]
    return [chi2_sf_case(x, df) for x, df in points]


# ---------------------------------------------------------------- leave one out

def loo_case(name, items, objects, note=""):
    """`items`: per item, per annotator, None (absent) or {"ranking": tiers, "thumbs": [0, 1
    or None per object]}. Per annotator: pairwise agreement with the others' consensus
    ranking, and thumbs against the others' majority."""
    annotators = len(items[0])
    out = []
    for a in range(annotators):
        agree = compared = 0
        mine_thumbs, majority_thumbs = [], []
        for labels in items:
            me = labels[a]
            others = [l for j, l in enumerate(labels) if j != a and l is not None]
            if me is None or not others:
                continue
            ranks = [rankdata(tier_index(o["ranking"], objects), method="average") for o in others]
            means = [sum(Fraction(float(r[x])) for r in ranks) / len(ranks) for x in range(objects)]
            levels = sorted(set(means))
            consensus = [levels.index(m) for m in means]
            mine = tier_index(me["ranking"], objects)
            for x, y in itertools.combinations(range(objects), 2):
                compared += 1
                agree += np.sign(mine[x] - mine[y]) == np.sign(consensus[x] - consensus[y])
            for x in range(objects):
                votes = [o["thumbs"][x] for o in others if o["thumbs"][x] is not None]
                up, down = votes.count(1), votes.count(0)
                if up != down and me["thumbs"][x] is not None:
                    mine_thumbs.append(me["thumbs"][x])
                    majority_thumbs.append(1 if up > down else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kappa = finite_or_none(cohen_kappa_score(mine_thumbs, majority_thumbs)) if mine_thumbs else None
        same = sum(m == j for m, j in zip(mine_thumbs, majority_thumbs))
        out.append({"agree": int(agree), "compared": compared, "thumbs_compared": len(mine_thumbs),
                    "thumbs_same": same, "thumbs_kappa": kappa})
    return {"name": name, "objects": objects, "items": items, "annotators": out,
            "source": "consensus of the others by mean rankdata(method='average') rank (equal means "
                      "tied) and strict-majority thumb; pairwise agreement by brute force; kappa by "
                      "sklearn.metrics.cohen_kappa_score" + (f"; {note}" if note else "")}


def loo_cases():
    L = lambda ranking, thumbs: {"ranking": ranking, "thumbs": thumbs}
    N = None
    items = [
        [L([[0], [1], [2], [3]], [1, 1, 0, 0]), L([[0], [1], [2], [3]], [1, 0, 0, 0]),
         L([[1], [0], [2], [3]], [1, 1, 0, 1]), L([[0], [2], [1], [3]], [1, 1, 1, 0])],
        [L([[3], [2], [1], [0]], [0, 0, 1, 1]), L([[0], [1], [2], [3]], [1, 1, 0, 0]),
         L([[0, 1], [2, 3]], [1, 1, 0, 0]), N],
        [L([[2], [0, 1], [3]], [0, 1, 1, 0]), N, L([[2], [0], [1], [3]], [N, 1, 1, 0]),
         L([[0], [2], [1], [3]], [1, N, 1, 0])],
        [L([[0], [1], [2], [3]], [1, 0, 0, 0]), L([[1], [0], [3], [2]], [0, 1, 0, 0]),
         N, N],
        [L([[0, 1, 2, 3]], [1, 1, 1, 1]), L([[3], [0], [1], [2]], [0, 1, 1, 1]),
         L([[3], [0], [2], [1]], [0, 1, 1, 0]), L([[0], [3], [1], [2]], [1, 1, 0, 1])],
        [N, L([[1], [2], [3], [0]], [N, 1, 0, N]), L([[1], [2], [0], [3]], [0, 1, 0, 0]),
         L([[2], [1], [3], [0]], [0, 1, N, 0])],
    ]
    return [loo_case("4 annotators x 6 items, ties and absences", items, 4)]


# ---------------------------------------------------------------- calibration

def calibration_case(name, confidence, right, note=""):
    stored = np.asarray(confidence, dtype=np.float32).astype(np.float64)
    y = np.asarray(right, dtype=int)
    prob_true, prob_pred = calibration_curve(y, stored, n_bins=10, strategy="uniform")
    edges = np.linspace(0.0, 1.0, 11)
    binids = np.searchsorted(edges[1:-1], stored)
    counts = np.bincount(binids, minlength=10)
    filled = np.flatnonzero(counts)
    assert len(filled) == len(prob_true)
    bins = [
        {"bin": int(k), "count": int(counts[k]), "accuracy": float(t), "mean_confidence": float(p)}
        for k, t, p in zip(filled, prob_true, prob_pred)
    ]
    ece = float(np.sum(counts[filled] / len(y) * np.abs(prob_true - prob_pred)))
    return {"name": name, "confidence": [float(c) for c in stored], "right": [int(r) for r in y],
            "bins": bins, "ece": ece,
            "source": "sklearn.calibration.calibration_curve(n_bins=10, strategy='uniform'); "
                      "ECE = sum(count/N * |accuracy - mean confidence|)" + (f"; {note}" if note else "")}


def calibration_cases():
    cases = [calibration_case(
        "on the edges, both ends",
        [0.0, 0.1, 0.1, 0.25, 0.3, 0.5, 0.5, 0.7, 0.9, 1.0, 1.0, 0.95],
        [0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1],
        "0.1 as float32 is just above the 0.1 edge: bin 1")]
    rng = np.random.default_rng(11)
    confidence = rng.uniform(0.3, 1.0, 200)
    right = (rng.uniform(0, 1, 200) < confidence ** 2).astype(int)  # overconfident
    cases.append(calibration_case("overconfident, 200 proposals, seed 11",
                                  [float(c) for c in confidence], right.tolist()))
    return cases


def bradley_terry_case(name, n, comparisons, note=""):
    """Bradley-Terry maximum likelihood by `choix.ilsr_pairwise` (alpha = 0). A comparison
    is [a, b, score]: score 1 = a won, 0 = b won, 0.5 = a tie, half a win each way. choix
    takes (winner, loser) pairs, so a win is given twice and a tie once each way (the
    maximum is the same when every count is doubled). The result is checked against the
    likelihood's own condition (each model's expected score equals its score) and centred."""
    data = []
    for a, b, s in comparisons:
        if s == 1:
            data += [(a, b), (a, b)]
        elif s == 0:
            data += [(b, a), (b, a)]
        else:
            data += [(a, b), (b, a)]
    theta = choix.ilsr_pairwise(n, data, alpha=0.0, max_iter=100000, tol=1e-14)
    theta = theta - theta.mean()
    scores = np.zeros(n)
    expected = np.zeros(n)
    for a, b, s in comparisons:
        pa = 1 / (1 + math.exp(theta[b] - theta[a]))
        scores[a] += s
        scores[b] += 1 - s
        expected[a] += pa
        expected[b] += 1 - pa
    assert np.allclose(scores, expected, atol=1e-8), (name, scores, expected)
    return {"name": name, "models": n, "comparisons": [[a, b, s] for a, b, s in comparisons],
            "expected_theta": plain(theta), "note": note}


def bradley_terry_cases():
    cases = [bradley_terry_case(
        "four models by hand, ties included",
        4,
        [[0, 1, 1], [0, 1, 1], [1, 0, 1], [0, 2, 0.5], [2, 0, 1], [1, 2, 1], [2, 1, 0.5],
         [2, 3, 1], [3, 2, 1], [3, 0, 0], [1, 3, 0.5], [3, 1, 1], [0, 3, 1]])]
    rng = np.random.default_rng(17)
    truth = np.array([0.8, 0.3, 0.0, -0.2, -0.9])
    comparisons = []
    for _ in range(300):
        a, b = rng.choice(5, size=2, replace=False)
        p = 1 / (1 + math.exp(truth[b] - truth[a]))
        u = rng.uniform()
        s = 0.5 if u < 0.1 else (1 if u < 0.1 + 0.9 * p else 0)
        comparisons.append([int(a), int(b), s])
    cases.append(bradley_terry_case("five models, 300 comparisons, 10% ties, seed 17", 5,
                                    comparisons))
    return cases


def styled_case(name, n, comparisons, note=""):
    """Bradley-Terry with a covariate (style control) by `sklearn.linear_model.
    LogisticRegression` without penalty or intercept: one row per comparison [a, b, score,
    d], columns +1 for a and -1 for b for models 1..n-1 (model 0 held at 0), then d (the
    covariate's difference, a's minus b's); a tie is two rows, won and lost, of weight 1/2.
    Checked against the likelihood's own condition (the gradient is zero), theta centred."""
    X, y, w = [], [], []
    for a, b, s, d in comparisons:
        row = [0.0] * n
        if a > 0:
            row[a - 1] += 1
        if b > 0:
            row[b - 1] -= 1
        row[n - 1] = d
        if s == 0.5:
            X += [row, row]
            y += [1, 0]
            w += [0.5, 0.5]
        else:
            X.append(row)
            y.append(int(s))
            w.append(1.0)
    X, y, w = np.array(X), np.array(y), np.array(w)
    model = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cg", tol=1e-14,
                               max_iter=100000).fit(X, y, sample_weight=w)
    coef = model.coef_[0]
    p = 1 / (1 + np.exp(-X @ coef))
    gradient = X.T @ (w * (y - p))
    assert np.allclose(gradient, 0, atol=1e-8), (name, gradient)
    theta = np.concatenate([[0.0], coef[: n - 1]])
    theta = theta - theta.mean()
    return {"name": name, "models": n, "comparisons": [[a, b, s, d] for a, b, s, d in comparisons],
            "expected_theta": plain(theta), "expected_beta": float(coef[n - 1]), "note": note}


def styled_cases():
    rng = np.random.default_rng(23)
    truth = np.array([0.5, 0.2, 0.0, -0.4])
    # Model 0 writes long answers, model 3 short ones; the longer answer is favoured.
    mean_length = np.array([900.0, 500.0, 600.0, 300.0])
    comparisons = []
    for _ in range(400):
        a, b = rng.choice(4, size=2, replace=False)
        la, lb = rng.normal(mean_length[a], 150), rng.normal(mean_length[b], 150)
        la, lb = max(la, 20.0), max(lb, 20.0)
        d = (la - lb) / (la + lb)
        p = 1 / (1 + math.exp(truth[b] - truth[a] - 1.5 * d))
        u = rng.uniform()
        s = 0.5 if u < 0.1 else (1 if u < 0.1 + 0.9 * p else 0)
        comparisons.append([int(a), int(b), s, round(float(d), 6)])
    return [styled_case("four models, 400 comparisons with lengths, 10% ties, seed 23", 4,
                        comparisons, "d = (length a - length b) / (length a + length b)")]


def main():
    # Krippendorff (2011) gives alpha = 0.743 (nominal) and 0.815 (ordinal) for its example.
    alpha = alpha_cases()
    assert round(alpha[0]["expected"], 3) == 0.743 and round(alpha[1]["expected"], 3) == 0.815, alpha[:2]
    doc = {
        "generated_by": "scripts/stats-reference.py",
        "packages": {p: version(p) for p in ["krippendorff", "scipy", "numpy", "scikit-learn", "choix"]},
        "alpha": alpha,
        "kappa": kappa_cases(),
        "raw_agreement": raw_cases(),
        "kendall_w": kendall_cases(),
        "pairwise": pairwise_cases(),
        "binomial": binomial_cases(),
        "chisquare": chisquare_cases(),
        "chi2_sf": chi2_sf_cases(),
        "calibration": calibration_cases(),
        "leave_one_out": loo_cases(),
        "bradley_terry": bradley_terry_cases(),
        "style_control": styled_cases(),
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
