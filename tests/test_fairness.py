"""Parity of `ev.fairness()` with fairlearn's MetricFrame and named disparities on the same inputs.

Reference conventions:

* fairlearn needs 0/1 labels: string labels with `pos_label` are recoded (1 = the positive class) for fairlearn;
* mlcompass leaves an undefined rate (0/0) NaN; fairlearn's `true_positive_rate` / `false_positive_rate` say 0 there
  (they normalise a confusion matrix, which maps an empty row to 0).  Hypothesis cases compare either against a
  MetricFrame whose TPR/FPR are scikit-learn's with `zero_division=np.nan` (same aggregation code: fairlearn's), or
  on data where every group has positives and negatives, where fairlearn's own functions are defined;
* fairlearn lists unobserved combinations of several sensitive features as all-NaN rows: compared on ours.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from sklearn import metrics as skm
import fairlearn.metrics as flm

import mlcompass as mc
from _issue4_helpers import assert_same, binary_figures, metricframe, quiet, same

pytestmark = pytest.mark.filterwarnings("ignore:y_pred contains label:UserWarning")

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FAST = dict(ci=None, n_boot=0)
METRICS = ["selection_rate", "tpr", "fpr", "precision", "accuracy"]


# --------------------------------------------------------------------------- strategies
@st.composite
def fairness_cases(draw, max_n=50, defined=False, weighted=True, control=None):
    """(Evaluation kwargs, 0/1 truth, 0/1 prediction, sensitive columns, control columns).

    `defined`: every finest group gets a positive and a negative example, so that TPR and FPR are defined."""
    n = draw(st.integers(2, max_n))
    race = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    if len(set(race)) < 2: race[0], race[-1] = "a", "b"
    sex = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    if len(set(sex)) < 2: sex[0], sex[-1] = 0, 1
    ctl = draw(st.lists(st.sampled_from(["p", "q"]), min_size=n, max_size=n))
    data = pd.DataFrame({"race": race, "sex": sex, "ctl": ctl})
    sens = draw(st.sampled_from([["race"], ["sex"], ["race", "sex"]]))
    ctrl = draw(st.sampled_from([[], ["ctl"]])) if control is None else (["ctl"] if control else [])
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    mode = draw(st.sampled_from(["random", "noisy", "constant"]))
    if mode == "random": p = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    elif mode == "constant": p = np.full(n, draw(st.integers(0, 1)))
    else: p = np.where(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))), 1 - y, y)
    if defined:  # append a positive and a negative example to every finest group
        keys = data[ctrl + sens].drop_duplicates()
        extra = pd.concat([keys, keys], ignore_index=True)
        data = pd.concat([data, extra], ignore_index=True)
        y = np.r_[y, np.ones(len(keys), int), np.zeros(len(keys), int)]
        p = np.r_[p, np.array(draw(st.lists(st.integers(0, 1), min_size=2 * len(keys), max_size=2 * len(keys))))]
        n = len(y)
    w = None
    if weighted and draw(st.booleans()):
        w = np.array(draw(st.lists(st.floats(0.05, 10.0), min_size=n, max_size=n)))
    kw = dict(y_true=y, y_pred=p, data=data, sample_weight=w)
    if draw(st.booleans()):  # string labels: fairlearn gets the 0/1 recoding
        enc = np.array(["no", "yes"], dtype=object)
        kw.update(y_true=enc[y], y_pred=enc[p], pos_label="yes")
    return kw, y, p, sens, ctrl


def observed(ours, ref):
    "fairlearn's rows for our groups; fairlearn's other rows must be unobserved combinations (all NaN)."
    extra = ref.drop(index=ours.index)
    assert extra.isna().all().all(), f"fairlearn has groups we do not:\n{extra}"
    return ref.loc[ours.index]


def check_against_metricframe(fr, mf, ctrl):
    "by_group, overall, group_min/max, difference and ratio (both methods) of `fr` equal the MetricFrame's."
    assert_same(fr.by_group.to_numpy(), observed(fr.by_group, mf.by_group)[fr.by_group.columns].to_numpy(), "by_group")
    if ctrl:
        assert_same(fr.overall.to_numpy(), mf.overall.loc[fr.overall.index, fr.overall.columns].to_numpy(), "overall")
    else:
        assert_same(fr.overall.to_numpy(), mf.overall[fr.overall.index].to_numpy(), "overall")
    pairs = [("group_min", fr.group_min(), mf.group_min()), ("group_max", fr.group_max(), mf.group_max())]
    for method in ("between_groups", "to_overall"):
        pairs += [(f"difference {method}", fr.difference(method), mf.difference(method=method)),
                  (f"ratio {method}", fr.ratio(method), mf.ratio(method=method))]
    for what, ours, ref in pairs:
        if ctrl:  # per control level
            assert list(ours.index) == list(fr.overall.index), what
            ref = ref.loc[ours.index, ours.columns]
        else: ref = ref[ours.index]
        assert_same(ours.to_numpy(), ref.to_numpy(), what)


# --------------------------------------------------------------------------- 9. parity with fairlearn
@SETTINGS
@given(case=fairness_cases())
def test_fairness_equals_metricframe_nan_rates(case):
    "Any data: fairlearn's MetricFrame with TPR/FPR that leave 0/0 undefined (NaN), as mlcompass does."
    kw, y, p, sens, ctrl = case
    ev = mc.Evaluation(**kw)
    fr = ev.fairness(sens, control=ctrl or None, **FAST)
    data = kw["data"]
    mf = metricframe(y, p, data[sens], data[ctrl] if ctrl else None, kw["sample_weight"], nan_rates=True)
    check_against_metricframe(fr, mf, ctrl)
    assert list(fr.by_group.index.names) == ctrl + sens
    assert fr.by_group.columns.tolist() == METRICS
    if fr.by_group.isna().any().any(): event("some group figure undefined")
    # fairlearn's own TPR/FPR agree wherever they are defined, and say 0 where mlcompass says NaN
    mf0 = observed(fr.by_group, metricframe(y, p, data[sens], data[ctrl] if ctrl else None, kw["sample_weight"]).by_group)
    for m in ("tpr", "fpr"):
        ours, ref = fr.by_group[m].to_numpy(float), mf0[m].to_numpy(float)
        nan = np.isnan(ours)
        assert_same(ours[~nan], ref[~nan], m)
        assert np.all(ref[nan] == 0), (m, ref[nan])


@settings(SETTINGS, max_examples=25)
@given(case=fairness_cases(defined=True, control=False))
def test_fairness_equals_fairlearn_functions(case):
    "Every group has positives and negatives: fairlearn's own metric functions and named disparities."
    kw, y, p, sens, _ = case
    ev = mc.Evaluation(**kw)
    fr = ev.fairness(sens, **FAST)
    w = kw["sample_weight"]
    sf = kw["data"][sens]  # a DataFrame: intersections when two columns
    mf = metricframe(y, p, sf, None, w)
    check_against_metricframe(fr, mf, [])
    for method in ("between_groups", "to_overall"):
        d = fr.disparities(method)
        assert d.index.tolist() == ["demographic parity", "equal opportunity", "equalized odds", "predictive parity"]
        want = {
            ("demographic parity", "difference"): flm.demographic_parity_difference(y, p, sensitive_features=sf, method=method, sample_weight=w),
            ("demographic parity", "ratio"): flm.demographic_parity_ratio(y, p, sensitive_features=sf, method=method, sample_weight=w),
            ("equal opportunity", "difference"): flm.equal_opportunity_difference(y, p, sensitive_features=sf, method=method, sample_weight=w),
            ("equal opportunity", "ratio"): flm.equal_opportunity_ratio(y, p, sensitive_features=sf, method=method, sample_weight=w),
            ("equalized odds", "difference"): flm.equalized_odds_difference(y, p, sensitive_features=sf, method=method, sample_weight=w, agg="worst_case"),
            ("equalized odds", "ratio"): flm.equalized_odds_ratio(y, p, sensitive_features=sf, method=method, sample_weight=w, agg="worst_case"),
            ("predictive parity", "difference"): mf.difference(method=method)["precision"],
            ("predictive parity", "ratio"): mf.ratio(method=method)["precision"],
        }
        for (row, col), v in want.items():
            assert same(d.loc[row, col], v), (method, row, col, d.loc[row, col], v)


@SETTINGS
@given(case=fairness_cases(defined=True, control=True))
def test_fairness_with_control_features(case):
    "control_features: group_min/max, difference and ratio per control level, disparities per (disparity, level)."
    kw, y, p, sens, ctrl = case
    ev = mc.Evaluation(**kw)
    fr = ev.fairness(sens, control=ctrl, **FAST)
    data = kw["data"]
    mf = metricframe(y, p, data[sens], data[ctrl], kw["sample_weight"])
    check_against_metricframe(fr, mf, ctrl)
    for method in ("between_groups", "to_overall"):
        d = fr.disparities(method)
        diff, ratio = mf.difference(method=method), mf.ratio(method=method)
        for lvl in fr.overall.index:
            for name, ms in (("demographic parity", ["selection_rate"]), ("equal opportunity", ["tpr"]),
                             ("equalized odds", ["tpr", "fpr"]), ("predictive parity", ["precision"])):
                assert same(d.loc[(name, lvl), "difference"], max(diff.loc[lvl, m] for m in ms)), (method, name, lvl)
                assert same(d.loc[(name, lvl), "ratio"], min(ratio.loc[lvl, m] for m in ms)), (method, name, lvl)


@SETTINGS
@given(case=fairness_cases())
def test_to_metricframe(case):
    "to_metricframe() is a fairlearn MetricFrame whose figures equal the report's (undefined rates included: NaN)."
    kw, y, p, sens, ctrl = case
    fr = mc.Evaluation(**kw).fairness(sens, control=ctrl or None, **FAST)
    mf = fr.to_metricframe()
    assert isinstance(mf, flm.MetricFrame)
    check_against_metricframe(fr, mf, ctrl)


def test_to_metricframe_with_an_undefined_rate():
    "Regression: to_metricframe() leaves an undefined TPR/FPR NaN, as the report (fairlearn's own functions say 0)."
    ev = mc.Evaluation([1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 1], data={"g": ["a", "a", "a", "b", "b", "b"]})
    fr = ev.fairness("g", **FAST)  # group b has no positive example: its TPR is undefined
    assert np.isnan(fr.by_group.loc["b", "tpr"])
    mf = fr.to_metricframe()
    check_against_metricframe(fr, mf, [])


def test_undefined_rates_are_nan_where_fairlearn_says_zero():
    "The deliberate difference: a group with no positives has no TPR (NaN), not 0; gaps ignore it."
    y, p = np.array([1, 1, 0, 0, 0, 0]), np.array([1, 0, 1, 0, 0, 1])
    g = np.array(["a", "a", "a", "b", "b", "b"])
    fr = mc.Evaluation(y, p, data={"g": g}).fairness("g", **FAST)
    assert np.isnan(fr.by_group.loc["b", "tpr"]) and fr.by_group.loc["a", "tpr"] == 0.5
    assert flm.MetricFrame(metrics=flm.true_positive_rate, y_true=y, y_pred=p, sensitive_features=g).by_group["b"] == 0
    assert fr.difference()["tpr"] == 0  # only one group with a TPR
    assert same(fr.by_group.loc["b", "fpr"], 1 / 3) and same(fr.by_group.loc["a", "fpr"], 1.0)


def test_fairness_deterministic_adult_like():
    "A deterministic larger case, intersections and weights, against fairlearn's functions."
    rng = np.random.default_rng(0)
    n = 3000
    data = pd.DataFrame({"race": rng.choice(["w", "b", "o"], n, p=[.6, .3, .1]), "sex": rng.choice(["f", "m"], n)})
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < np.where(data["race"] == "b", .35, .2), 1 - y, y)
    w = rng.uniform(0.5, 2.0, n)
    ev = mc.Evaluation(np.where(y == 1, ">50K", "<=50K"), np.where(p == 1, ">50K", "<=50K"), data=data,
                       sample_weight=w, pos_label=">50K")
    fr = ev.fairness(["race", "sex"], n_boot=0)
    check_against_metricframe(fr, metricframe(y, p, data[["race", "sex"]], None, w), [])
    sf = data[["race", "sex"]]
    assert same(fr.disparities().loc["equalized odds", "difference"],
                flm.equalized_odds_difference(y, p, sensitive_features=sf, sample_weight=w))
    assert same(fr.disparities().loc["demographic parity", "ratio"],
                flm.demographic_parity_ratio(y, p, sensitive_features=sf, sample_weight=w))
    # intervals contain the values
    f = fr.to_frame()
    for m in METRICS:
        ok = f[m].notna()
        assert (f.loc[ok, m + "_ci_low"] <= f.loc[ok, m] + 1e-12).all() and (f.loc[ok, m] <= f.loc[ok, m + "_ci_high"] + 1e-12).all()
    # every level: each attribute alone and the intersections
    assert sorted(f["depth"].unique()) == [1, 2] and len(f) == 3 + 2 + 6


def test_adult_rule_against_fairlearn():
    "UCI Adult, a simple rule (education-num >= 13 and age >= 30) judged by race and sex, with fnlwgt as weights."
    adult = mc.datasets.load_adult()
    y = adult["income"].to_numpy()
    p = np.where((adult["education-num"] >= 13) & (adult["age"] >= 30), ">50K", "<=50K")
    w = adult["fnlwgt"].to_numpy(float)
    ev = mc.Evaluation(y, p, data=adult[["race", "sex"]], sample_weight=w, pos_label=">50K")
    fr = ev.fairness(["race", "sex"], **FAST)
    y01, p01 = (y == ">50K").astype(int), (p == ">50K").astype(int)
    sf = adult[["race", "sex"]]
    check_against_metricframe(fr, metricframe(y01, p01, sf, None, w), [])
    d = fr.disparities()
    assert same(d.loc["demographic parity", "difference"], flm.demographic_parity_difference(y01, p01, sensitive_features=sf, sample_weight=w))
    assert same(d.loc["equalized odds", "ratio"], flm.equalized_odds_ratio(y01, p01, sensitive_features=sf, sample_weight=w))
    assert fr.four_fifths_groups.size > 0  # women select far less often than men under this rule
    check_against_metricframe(fr, fr.to_metricframe(), [])


# --------------------------------------------------------------------------- 11. COMPAS
def compas_two_races(propublica_filters=False):
    compas = mc.datasets.load_compas()
    if propublica_filters:  # ProPublica's analysis: screening within 30 days of arrest, known outcome, no ordinary traffic offence
        compas = compas[compas["days_b_screening_arrest"].between(-30, 30) & (compas["is_recid"] != -1)
                        & (compas["c_charge_degree"] != "O") & (compas["score_text"] != "N/A")]
    compas = compas[compas["race"].isin(["African-American", "Caucasian"])].reset_index(drop=True)
    y = compas["two_year_recid"].to_numpy()
    p = (compas["score_text"] != "Low").astype(int).to_numpy()
    return compas, y, p


def test_compas_false_positive_rates_propublica_rows():
    "On ProPublica's 6,172 rows: FPR 0.42 for African-American vs 0.22 for Caucasian defendants."
    compas, y, p = compas_two_races(propublica_filters=True)
    fr = mc.Evaluation(y, p, data=compas[["race"]]).fairness("race", **FAST)
    fpr = fr.by_group["fpr"]
    assert fpr["African-American"] == pytest.approx(0.42, abs=0.005)
    assert fpr["Caucasian"] == pytest.approx(0.22, abs=0.005)
    assert fpr["African-American"] / fpr["Caucasian"] > 1.8
    check_against_metricframe(fr, metricframe(y, p, compas["race"], None, None), [])


def test_compas_false_positive_rates():
    "All 6,150 African-American and Caucasian rows of load_compas(): FPR 0.45 vs 0.23, and fairlearn's figures."
    compas, y, p = compas_two_races()
    ev = mc.Evaluation(y, p, data=compas[["race", "sex", "age_cat"]])
    fr = ev.fairness("race", n_boot=0)
    fpr = fr.by_group["fpr"]
    assert fpr["African-American"] == pytest.approx(0.448, abs=0.005)
    assert fpr["Caucasian"] == pytest.approx(0.235, abs=0.005)
    assert fpr["African-American"] / fpr["Caucasian"] > 1.8
    mf = metricframe(y, p, compas["race"], None, None)
    check_against_metricframe(fr, mf, [])
    assert same(fpr["African-American"], flm.false_positive_rate(y[compas["race"] == "African-American"],
                                                                 p[compas["race"] == "African-American"]))
    d = fr.disparities()
    assert same(d.loc["equalized odds", "difference"], flm.equalized_odds_difference(y, p, sensitive_features=compas["race"]))
    assert same(d.loc["equalized odds", "ratio"], flm.equalized_odds_ratio(y, p, sensitive_features=compas["race"]))
    assert same(d.loc["demographic parity", "difference"], flm.demographic_parity_difference(y, p, sensitive_features=compas["race"]))
    assert same(d.loc["demographic parity", "ratio"], flm.demographic_parity_ratio(y, p, sensitive_features=compas["race"]))
    # intersections with sex, and within age categories
    fr2 = ev.fairness(["race", "sex"], control="age_cat", **FAST)
    check_against_metricframe(fr2, metricframe(y, p, compas[["race", "sex"]], compas[["age_cat"]], None), ["age_cat"])


# --------------------------------------------------------------------------- 12. missing values, numeric features
def test_missing_sensitive_values_form_their_own_group():
    rng = np.random.default_rng(1)
    n = 400
    race = rng.choice(["a", "b", None], n, p=[.5, .4, .1]).astype(object)
    score = rng.choice([1.0, 2.0, np.nan], n, p=[.45, .45, .1])
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    ev = mc.Evaluation(y, p, data={"race": race, "score": score})
    for col in ("race", "score"):
        fr = ev.fairness(col, **FAST)
        assert mc.MISSING == "(missing)" and mc.MISSING in fr.by_group.index
        f = fr.to_frame()
        assert f.loc[f["depth"] == 1, "n"].sum() == n  # counted, never dropped
        miss = pd.isna(ev.data[col]).to_numpy()
        want = binary_figures(y[miss], p[miss], None)
        for m, k in (("selection_rate", "selection_rate"), ("tpr", "recall"), ("fpr", None), ("precision", "precision"),
                     ("accuracy", "accuracy")):
            ref = want[k] if k else want["fp"] / (want["fp"] + want["tn"])
            assert same(fr.by_group.loc[mc.MISSING, m], ref), (col, m)
        # the other groups equal fairlearn on the rows with a value
        mf = metricframe(y[~miss], p[~miss], ev.data[col][~miss], None, None, nan_rates=True)
        ours = fr.by_group.drop(index=mc.MISSING)
        assert_same(ours.to_numpy(), mf.by_group.loc[ours.index].to_numpy(), col)
    # intersections: every combination counted once
    fr = ev.fairness(["race", "score"], **FAST)
    f = fr.to_frame()
    assert f.loc[f["depth"] == 2, "n"].sum() == n
    assert (mc.MISSING, mc.MISSING) in fr.by_group.index


def test_missing_string_values_equal_fairlearn_via_to_metricframe():
    "to_metricframe() fills missing values with the same '(missing)' group."
    rng = np.random.default_rng(2)
    n = 300
    race = rng.choice(["a", "b", None], n, p=[.5, .4, .1]).astype(object)
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    fr = mc.Evaluation(y, p, data={"race": race}).fairness("race", **FAST)
    mf = fr.to_metricframe()
    assert mc.MISSING in mf.by_group.index
    check_against_metricframe(fr, mf, [])
    filled = pd.Series(race).fillna(mc.MISSING)
    check_against_metricframe(fr, metricframe(y, p, filled, None, None), [])


def by_text(ref, ours):
    "The rows of `ref` for the groups of `ours`, matched by their labels as text (to_metricframe() may pass numbers as text)."
    key = lambda k: tuple(map(str, k)) if isinstance(k, tuple) else str(k)
    table = {key(k): i for i, k in enumerate(ref.index)}
    assert len(table) == len(ref.index)
    missing = [k for k in ours.index if key(k) not in table]
    assert not missing, f"groups not in the MetricFrame: {missing}"
    rows = ref.iloc[[table[key(k)] for k in ours.index]]
    rest = ref.drop(index=rows.index)
    assert rest.isna().all().all(), f"fairlearn has groups we do not:\n{rest}"
    return rows


def test_to_metricframe_with_missing_numeric_values_one_feature():
    ev = mc.Evaluation([0, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 0], data={"g": [1.0, 2.0, np.nan, 1.0, np.nan, 2.0]})
    fr = ev.fairness("g", **FAST)
    assert fr.by_group.index.tolist() == [1.0, 2.0, mc.MISSING]  # the report keeps the numbers
    mf = fr.to_metricframe()
    assert_same(fr.by_group.to_numpy(), by_text(mf.by_group, fr.by_group)[fr.by_group.columns].to_numpy(), "by_group")
    for method in ("between_groups", "to_overall"):
        assert_same(fr.difference(method).to_numpy(), mf.difference(method=method)[fr.by_group.columns].to_numpy(), "difference")
        assert_same(fr.ratio(method).to_numpy(), mf.ratio(method=method)[fr.by_group.columns].to_numpy(), "ratio")


def test_to_metricframe_with_missing_numeric_values_two_features():
    "Regression: a numeric column with missing values beside another feature made fairlearn fail (mixed float/str)."
    ev = mc.Evaluation([0, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 0],
                       data={"g": [1.0, 2.0, np.nan, 1.0, np.nan, 2.0], "s": ["a", "b", "a", "b", "a", "a"]})
    fr = ev.fairness(["g", "s"], **FAST)
    assert (mc.MISSING, "a") in fr.by_group.index
    mf = fr.to_metricframe()
    assert_same(fr.by_group.to_numpy(), by_text(mf.by_group, fr.by_group)[fr.by_group.columns].to_numpy(), "by_group")
    assert_same(fr.difference().to_numpy(), mf.difference()[fr.by_group.columns].to_numpy(), "difference")
    fr = ev.fairness("s", control="g", **FAST)  # the numeric column as a control feature
    mf = fr.to_metricframe()
    d = fr.difference()
    assert_same(d.to_numpy(), by_text(mf.difference(), d)[d.columns].to_numpy(), "difference per level")


def test_numeric_sensitive_features_are_not_binned():
    rng = np.random.default_rng(3)
    n = 500
    age = rng.integers(18, 80, n)  # 62 distinct values: one group each, as in fairlearn
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    fr = mc.Evaluation(y, p, data={"age": age}).fairness("age", **FAST)
    assert len(fr.by_group) == len(np.unique(age))
    assert sorted(fr.by_group.index.tolist()) == sorted(np.unique(age).tolist())
    check_against_metricframe(fr, metricframe(y, p, pd.Series(age, name="age"), None, None, nan_rates=True), [])
    f = fr.to_frame()
    assert f["n"].sum() == n
    # floats too
    x = rng.choice([0.5, 1.25, 2.0, 3.75], n)
    fr = mc.Evaluation(y, p, data={"x": x}).fairness("x", **FAST)
    assert sorted(fr.by_group.index.tolist()) == [0.5, 1.25, 2.0, 3.75]
    check_against_metricframe(fr, fr.to_metricframe(), [])


# --------------------------------------------------------------------------- 13. flags and bad input
def test_four_fifths_flags():
    # selection rates: a 0.5, b 0.35 (ratio 0.7: flagged), c 0.45 (0.9: not flagged)
    g = np.repeat(["a", "b", "c"], 100)
    p = np.r_[np.repeat([1, 0], [50, 50]), np.repeat([1, 0], [35, 65]), np.repeat([1, 0], [45, 55])]
    y = np.tile([0, 1], 150)
    ev = mc.Evaluation(y, p, data={"g": g})
    fr = ev.fairness("g", **FAST)
    ff = fr.four_fifths_groups
    assert ff.index.tolist() == ["b"] and same(ff["b"], 0.7)
    s = fr.summary()
    assert "Four-fifths rule: 1 judged group(s)" in s and "b (0.70)" in s
    assert "do not differ beyond noise (demographic parity: adjusted p = " in s  # 100 per group: the rule does not support it
    assert ev.fairness("g", four_fifths=0.95, **FAST).four_fifths_groups.index.tolist() == ["b", "c"]
    assert ev.fairness("g", four_fifths=0.5, **FAST).four_fifths_groups.empty
    assert ev.fairness("g", metrics=["tpr"], **FAST).four_fifths_groups.empty  # no selection rate, no rule
    # within control levels: each level's own highest group
    ctl = np.tile(["p", "q"], 150)
    fr = mc.Evaluation(y, p, data={"g": g, "ctl": ctl}).fairness("g", control="ctl", **FAST)
    sr = fr.by_group["selection_rate"]
    want = (sr / sr.groupby(level="ctl").transform("max"))
    assert fr.four_fifths_groups.index.tolist() == want[want < 0.8].index.tolist()


def test_small_groups_flagged():
    g = np.array(["big"] * 100 + ["small"] * 10 + ["tiny"] * 3)
    y = np.tile([0, 1], 57)[:113]
    p = np.roll(y, 1)
    ev = mc.Evaluation(y, p, data={"g": g})
    fr = ev.fairness("g", **FAST)
    assert fr.small_groups == ["g == 'small'", "g == 'tiny'"]
    assert "2 group(s) have fewer than 30 examples" in fr.summary()
    assert ev.fairness("g", small=5, **FAST).small_groups == ["g == 'tiny'"]
    assert len(fr.by_group) == 3  # flagged, never dropped
    # min_support leaves groups out of the table (explicitly)
    assert ev.fairness("g", min_support=5, **FAST).by_group.index.tolist() == ["big", "small"]


def test_fairness_bad_input():
    ev = mc.Evaluation([0, 1, 0, 1], [0, 1, 1, 1], data={"g": ["a", "b", "a", "b"], "h": [None, None, None, None],
                                                       "one": ["x"] * 4})
    with pytest.raises(ValueError, match="sensitive='religion' is not a column of the evaluation's data"):
        ev.fairness("religion")
    with pytest.raises(ValueError, match=r"sensitive='h' is missing \(NaN/None\) for every example"):
        ev.fairness(["g", "h"])
    with pytest.raises(ValueError, match=r"sensitive='one' has a single group \('x'\)"):
        ev.fairness("one")
    with pytest.raises(ValueError, match="control='zone' is not a column"):
        ev.fairness("g", control="zone")
    with pytest.raises(ValueError, match="cannot be both sensitive and control features"):
        ev.fairness("g", control="g")
    with pytest.raises(ValueError, match="sensitive is empty"):
        ev.fairness([])
    with pytest.raises(ValueError, match="needs a positive class: pass pos_label="):
        mc.Evaluation([0, 1, 2], [0, 1, 2], data={"g": list("abc")}).fairness("g")
    with pytest.raises(ValueError, match="needs a classification task"):
        mc.Evaluation([1.5, 2.5, 3.5], [1.0, 2.5, 3.0], data={"g": list("abb")}).fairness("g")
    fr = ev.fairness("g", **FAST)
    with pytest.raises(ValueError, match="method='worst' must be 'between_groups' or 'to_overall'"):
        fr.difference("worst")
    with pytest.raises(ValueError, match="method='worst' must be 'between_groups' or 'to_overall'"):
        fr.ratio("worst")
    with pytest.raises(ValueError, match=r"to_metricframe knows .*; this report also has \['balanced_accuracy'\]"):
        ev.fairness("g", metrics=["tpr", "balanced_accuracy"], **FAST).to_metricframe()


def multiclass_fairness_case():
    rng = np.random.default_rng(4)
    n = 600
    yt, yp = rng.choice(["x", "y", "z"], n), rng.choice(["x", "y", "z"], n)
    return yt, yp, rng.choice(["a", "b"], n)


def test_multiclass_with_pos_label_or_for_class():
    "A multiclass task judged for one class (one-vs-rest), via pos_label= or ev.for_class()."
    yt, yp, g = multiclass_fairness_case()
    fr1 = mc.Evaluation(yt, yp, data={"g": g}, pos_label="z").fairness("g", **FAST)
    fr2 = mc.Evaluation(yt, yp, data={"g": g}).for_class("z").fairness("g", **FAST)
    pd.testing.assert_frame_equal(fr1.by_group, fr2.by_group)
    rates = ["selection_rate", "tpr", "fpr", "precision"]  # the one-vs-rest rates
    mf = metricframe((yt == "z").astype(int), (yp == "z").astype(int), pd.Series(g, name="g"), None, None, metrics=rates)
    assert_same(fr1.by_group[rates].to_numpy(), mf.by_group.loc[fr1.by_group.index, rates].to_numpy(), "by_group")
    assert_same(fr1.difference()[rates].to_numpy(), mf.difference()[rates].to_numpy(), "difference")
    assert_same(fr1.ratio()[rates].to_numpy(), mf.ratio()[rates].to_numpy(), "ratio")


def test_multiclass_to_metricframe_equals_report():
    yt, yp, g = multiclass_fairness_case()
    fr = mc.Evaluation(yt, yp, data={"g": g}, pos_label="z").fairness("g", **FAST)
    check_against_metricframe(fr, fr.to_metricframe(), [])


def test_displays_render():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(5)
    n = 200
    ev = mc.Evaluation(rng.integers(0, 2, n), rng.integers(0, 2, n), data={"g": rng.choice(["a", "b", "c"], n)})
    fr = ev.fairness("g", n_boot=20)
    html = fr._repr_html_()
    assert "Fairness by g" in html and "equalized odds" in html
    assert fr.plot(metric="selection_rate").figure is fr.figure_ and fr.plot(metric="fpr").figure is fr.figure_
    with pytest.raises(ValueError, match="metric='auc' is not in this report"):
        fr.plot(metric="auc")
    assert "FairnessReport(sensitive=['g']" in repr(fr)
    plt.close("all")
