"""After deployment: drift per slice and performance estimated before the labels arrive, checked against planted effects."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc

FEATURES = ["channel", "region", "income"]
COLUMNS = dict(y_pred="flagged", y_score="score")


def reference_of(frame, **kw):
    return mc.Evaluation.from_frame(frame, y_true="default", y_pred="flagged", y_score="score", features=FEATURES, **kw)


@pytest.fixture(scope="module")
def periods():
    reference, current = mc.datasets.make_drift(seed=11)
    return reference_of(reference), reference, current


def test_a_covariate_shift_flags_the_slice_that_grew_where_the_model_is_weaker(periods):
    ev, _, current = periods
    d = mc.drift(ev, current, **COLUMNS)
    assert d.weak_and_growing()["slice"].tolist() == ["channel == 'online'"]
    assert d.moved()["slice"].iloc[0] == "channel == 'online'" # the weak slice that grew comes first
    assert d.summary().startswith("Traffic moved toward a slice where the model is weaker: channel == 'online'")
    feats = d.features.set_index("feature")
    assert feats.loc["channel", "moved"] and not feats.loc["region", "moved"]
    assert feats.loc["income", "test"] == "Kolmogorov–Smirnov" and feats.loc["channel", "test"] == "chi-square"


def test_shares_and_tests_match_a_direct_count(periods):
    "Each slice's shares, the change's interval and p-value, and the feature's chi-square, recomputed from the rows."
    from scipy.stats import chi2_contingency
    ev, reference, current = periods
    d = mc.drift(ev, current, by=["channel"], **COLUMNS)
    f = d.frame.set_index("channel")
    for v in ("branch", "online", "partner"):
        a, b = (reference["channel"] == v).mean(), (current["channel"] == v).mean()
        assert f.loc[v, "share_reference"] == pytest.approx(a) and f.loc[v, "share_current"] == pytest.approx(b)
        se = np.sqrt(a * (1 - a) / len(reference) + b * (1 - b) / len(current))
        assert f.loc[v, "share_change_ci_high"] == pytest.approx(b - a + 1.959963984540054 * se)
    table = pd.crosstab(pd.concat([reference["channel"], current["channel"]]), np.r_[np.zeros(len(reference)), np.ones(len(current))])
    assert d.features.iloc[0]["statistic"] == pytest.approx(chi2_contingency(table.T.to_numpy(), correction=False).statistic)
    assert d.features.iloc[0]["js_distance"] == pytest.approx(
        __import__("scipy.spatial.distance", fromlist=["jensenshannon"]).jensenshannon(
            reference["channel"].value_counts(normalize=True).sort_index(), current["channel"].value_counts(normalize=True).sort_index(), base=2))


def test_nothing_moves_when_nothing_changed():
    r, c = mc.datasets.make_drift(seed=12, shift=1.0)
    d = mc.drift(reference_of(r), c, **COLUMNS)
    assert len(d.moved()) == 0 and not d.features["moved"].any() and (d.model["p_value"] >= 0.05).all()


def test_the_realised_figure_falls_within_the_estimate_in_repeated_trials():
    """Seeded trials of a covariate shift (calibrated scores, more online traffic): the realised accuracy of each slice falls
    within its estimate's 95% interval about 95% of the time (binomial bounds for 40 trials x 7 slices)."""
    inside = []
    for seed in range(40):
        r, c = mc.datasets.make_drift(seed=100 + seed)
        e = mc.estimate_performance(reference_of(r), c, by=["channel", "region"], y_true="default", seed=seed, **COLUMNS)
        f = e.frame
        inside += list(f["accuracy_realised"].between(f["accuracy_estimate_ci_low"], f["accuracy_estimate_ci_high"]))
    assert 0.91 <= np.mean(inside) <= 0.99, np.mean(inside)


def test_a_planted_concept_drift_is_flagged_where_it_was_planted():
    r, c = mc.datasets.make_drift(seed=13, concept=0.3)
    e = mc.estimate_performance(reference_of(r), c, by=["region"], y_true="default", **COLUMNS)
    assert e.concept_drift()["slice"].tolist() == ["region == 'north'"]
    assert e.overall["concept_drift"] # the whole period too: its realised accuracy is below the estimate
    quiet = mc.estimate_performance(reference_of(r), c, by=["region"], **COLUMNS) # no labels: the estimate cannot see it
    assert not quiet.labelled and "P(y | score) unchanged" in quiet.summary()


def test_estimates_equal_the_expected_confusion_of_calibrated_scores(periods):
    "The estimate is the expectation of each metric under the isotonic calibration of the reference's score cells."
    from scipy.optimize import isotonic_regression
    from mlcompass.production import CELLS
    ev, reference, current = periods
    e = mc.estimate_performance(ev, current, **COLUMNS)
    cell = lambda s: np.clip(np.floor(s * CELLS), 0, CELLS - 1).astype(int)
    pos, tot = np.bincount(cell(reference.score), reference["default"], CELLS), np.bincount(cell(reference.score), minlength=CELLS)
    ok = tot > 0
    c = np.interp(np.arange(CELLS), np.flatnonzero(ok), isotonic_regression(pos[ok] / tot[ok], weights=tot[ok]).x)[cell(current.score)]
    flag = current.flagged.to_numpy() == 1
    tp, fn = c[flag].sum(), c[~flag].sum()
    assert e.overall["accuracy_estimate"] == pytest.approx((tp + (~flag).sum() - fn) / len(current))
    assert e.overall["precision_estimate"] == pytest.approx(tp / flag.sum())
    assert e.overall["recall_estimate"] == pytest.approx(tp / (tp + fn))
    from sklearn.metrics import accuracy_score
    assert e.overall["accuracy_reference"] == pytest.approx(accuracy_score(reference["default"], reference.flagged))


def test_cost_and_gates_and_findings_read_the_estimate(periods):
    ev, _, current = periods
    e = mc.estimate_performance(ev, current, by=["channel"], cost={"fp": 1, "fn": 5}, **COLUMNS)
    assert "cost_estimate" in e.frame and e.overall["cost_estimate"] > 0
    g = ev.check(mc.Gates(max_estimated_drop={"accuracy": 0.005}), estimate=e)
    assert not g.passed and g.failures["scope"].iloc[0] == "overall"
    skipped = ev.check(mc.Gates(max_estimated_drop=0.01))
    assert skipped.to_frame()["status"].tolist() == ["skipped"]
    f = ev.findings(by=["channel"], estimate=e, discover=False).to_frame()
    assert f["finding"].iloc[0].startswith(f"On the {len(current):,} current rows, accuracy is estimated at")
    assert f["finding"].iloc[-1].startswith("Work on channel == 'online': the estimated drop comes mostly from its growth")


def test_the_estimated_drop_splits_into_mix_and_within(periods):
    "For accuracy, a mean over rows: the overall change is the change of mix plus the changes within the slices, exactly."
    ev, reference, current = periods
    e = mc.estimate_performance(ev, current, by=["channel", "region"], **COLUMNS)
    mix = e.mix.set_index("feature")
    assert mix.loc["channel", "mix"] + mix.loc["channel", "within"] == pytest.approx(e.overall["accuracy_drop"], abs=1e-12)
    sr, sc = reference["channel"].value_counts(normalize=True), current["channel"].value_counts(normalize=True)
    acc = (reference.flagged == reference["default"]).groupby(reference["channel"]).mean()
    assert mix.loc["channel", "mix"] == pytest.approx(((sc - sr) * (acc - (reference.flagged == reference["default"]).mean())).sum())
    assert e.explained_by_mix()["slice"] == "channel == 'online'" and abs(mix.loc["region", "mix"]) < 0.002
    assert "Most of that is the change of mix" in e.summary()


@pytest.mark.parametrize("kind", ["polars", "lazy", "duckdb", "parquet", "engine reference"])
def test_engines_give_the_tables_of_pandas(periods, kind, tmp_path):
    import polars as pl
    ev, reference, current = periods
    by = ["channel", "income"]
    cur, ref = current, ev
    if kind == "polars": cur = pl.from_pandas(current)
    elif kind == "lazy": cur = pl.from_pandas(current).lazy()
    elif kind == "duckdb":
        import duckdb
        con = duckdb.connect()
        cur = con.from_df(current)
    elif kind in ("parquet", "engine reference"):
        current.to_parquet(tmp_path / "current.parquet"); cur = str(tmp_path / "current.parquet")
    if kind == "engine reference":
        reference.to_parquet(tmp_path / "reference.parquet")
        ref = mc.Evaluation.from_frame(str(tmp_path / "reference.parquet"), y_true="default", y_pred="flagged", y_score="score", features=FEATURES)
    want_d, got_d = mc.drift(ev, current, by=by, **COLUMNS), mc.drift(ref, cur, by=by, **COLUMNS)
    pd.testing.assert_frame_equal(got_d.frame, want_d.frame, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(got_d.features, want_d.features, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(got_d.model, want_d.model, check_exact=False, rtol=1e-9)
    want_e = mc.estimate_performance(ev, current, by=by, y_true="default", **COLUMNS)
    got_e = mc.estimate_performance(ref, cur, by=by, y_true="default", **COLUMNS)
    pd.testing.assert_frame_equal(got_e.frame, want_e.frame, check_exact=False, rtol=1e-9)
    assert got_e.engine is not None


def test_new_values_and_missing_values_get_their_own_slices(periods):
    ev, _, current = periods
    cur = current.copy()
    cur.loc[:99, "channel"] = "kiosk" # a channel the reference never had
    cur.loc[100:149, "income"] = np.nan
    d = mc.drift(ev, cur, by=["channel", "income"], **COLUMNS)
    f = d.frame.set_index("slice")
    assert f.loc["channel is new (not in the reference)", "n_current"] == 100
    assert f.loc["channel is new (not in the reference)", "n_reference"] == 0
    assert f.loc["income is missing", "n_current"] == 50
    assert d.features.set_index("feature").loc["channel", "new_values"] == 100


@pytest.mark.parametrize("call, message", [
    (lambda ev, cur: mc.drift(ev, cur), "y_pred names the prediction column of the current rows, and none was given"),
    (lambda ev, cur: mc.drift(ev, cur, y_pred="nope", y_score="score"), "y_pred='nope' is not a column of the current rows"),
    (lambda ev, cur: mc.estimate_performance(ev, cur, metric="auc", **COLUMNS), "metric='auc' is not one of the estimated metrics"),
    (lambda ev, cur: mc.estimate_performance(ev, cur.assign(score=cur.score * 2), **COLUMNS), "y_score must hold probabilities in [0, 1]"),
    (lambda ev, cur: mc.estimate_performance(ev, cur, cost={"fp": 1}, **COLUMNS), "cost={'fp': 1} must be a dict"),
    (lambda ev, cur: mc.drift(ev, cur, by=["nope"], **COLUMNS), "by='nope' is not a column of the reference's data"),
    (lambda ev, cur: mc.drift(ev.y_true, cur, **COLUMNS), "reference must be an Evaluation"),
    (lambda ev, cur: mc.estimate_performance(ev, cur.iloc[:0], **COLUMNS), "current has no rows"),
])
def test_bad_inputs_get_a_clear_message(periods, call, message):
    ev, _, current = periods
    with pytest.raises((ValueError, TypeError)) as e: call(ev, current)
    assert message in str(e.value), str(e.value)


def test_multiclass_drifts_but_is_not_estimated():
    rng = np.random.default_rng(0)
    n = 900
    proba = rng.dirichlet([2, 2, 2], n)
    frame = pd.DataFrame({"g": rng.choice(["a", "b"], n), "y": rng.integers(0, 3, n), "pred": proba.argmax(1)})
    frame[["p0", "p1", "p2"]] = proba
    ev = mc.Evaluation.from_frame(frame, y_true="y", y_pred="pred", y_score=["p0", "p1", "p2"], features=["g"])
    d = mc.drift(ev, frame.iloc[:300], y_pred="pred", y_score=["p0", "p1", "p2"])
    assert d.model["what"].iloc[0].startswith("predicted classes")
    with pytest.raises(ValueError, match="needs a positive class"): mc.estimate_performance(ev, frame, y_pred="pred", y_score=["p0", "p1", "p2"])
    one = mc.estimate_performance(ev.for_class(2), frame.iloc[:300], y_pred="pred", y_score=["p0", "p1", "p2"], y_true="y") # class 2 vs the rest
    flat = frame.assign(y=(frame.y == 2).astype(int), pred=(frame.pred == 2).astype(int))
    binary = mc.estimate_performance(mc.Evaluation.from_frame(flat, y_true="y", y_pred="pred", y_score="p2", features=["g"]), flat.iloc[:300],
                                     y_pred="pred", y_score="p2", y_true="y")
    assert one.overall == pytest.approx(binary.overall) and "of class 2 against the rest" in one.summary()


def test_a_positive_class_listed_first_is_still_the_positive_one(periods):
    "Labels whose positive class sorts first ('default' before 'repaid') give the same tables as 1/0 labels."
    ev, reference, current = periods
    word = lambda f: f.assign(default=np.where(f["default"] == 1, "default", "repaid"), flagged=np.where(f.flagged == 1, "default", "repaid"))
    named = mc.Evaluation.from_frame(word(reference), y_true="default", y_pred="flagged", y_score="score", features=FEATURES, pos_label="default")
    assert named.pos_index == 0
    a = mc.estimate_performance(ev, current, by=["channel"], y_true="default", **COLUMNS)
    b = mc.estimate_performance(named, word(current), by=["channel"], y_true="default", **COLUMNS)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(mc.drift(ev, current, **COLUMNS).frame, mc.drift(named, word(current), **COLUMNS).frame)


def test_the_report_opens_a_production_section(tmp_path):
    r, c = mc.datasets.make_drift(seed=14, concept=0.3)
    r.to_csv(tmp_path / "ref.csv", index=False); c.to_csv(tmp_path / "cur.csv", index=False)
    params = dict(predictions=str(tmp_path / "ref.csv"), y_true="default", y_pred="flagged", y_score=["score"], by=["channel", "region"],
                  current=str(tmp_path / "cur.csv"), gates={"max_estimated_drop": {"accuracy": 0.01}}, discover=False)
    res = mc.report.run("error_analysis", params, tmp_path / "out", progress=False)
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["production"]["estimate"]["overall"]["concept_drift"] is True
    assert s["production"]["estimate"]["concept_drift"][0]["slice"] == "region == 'north'"
    assert s["production"]["drift"]["moved"][0]["slice"] == "channel == 'online'"
    assert not res.passed # the estimated drop is beyond the gate's tolerance
    html = res.html.read_text()
    assert "Production: how the model is probably doing now" in html and "estimated at" in html


def test_labels_that_arrived_are_compared_and_contradict_the_gate():
    "With labels: their positive share is compared (prior shift), and concept drift fails the estimated-drop gate."
    r, c = mc.datasets.make_drift(seed=15, concept=0.3)
    ev = reference_of(r)
    d = mc.drift(ev, c, y_true="default", **COLUMNS)
    labelled = d.model.set_index("what").loc["share labelled 1"]
    assert labelled["reference"] == pytest.approx(r["default"].mean()) and labelled["current"] == pytest.approx(c["default"].mean())
    e = mc.estimate_performance(ev, c, by=["region"], y_true="default", **COLUMNS)
    g = ev.check(mc.Gates(max_estimated_drop={"accuracy": 0.5}), estimate=e) # a tolerance no estimate reaches: only the labels fail it
    failed = g.failures.set_index("scope")
    assert {"overall", "region == 'north'"} <= set(failed.index) and "concept drift" in failed.loc["overall", "detail"]


def test_values_beyond_the_reference_range_get_their_own_slices(periods):
    ev, reference, current = periods
    cur = current.copy()
    cur.loc[:9, "income"] = reference["income"].min() - 100
    cur.loc[10:29, "income"] = reference["income"].max() + 100
    f = mc.drift(ev, cur, by=["income"], **COLUMNS).frame.set_index("slice")
    lo, hi = mc.slices.encode_feature(reference["income"], "income").edges[[0, -1]]
    assert f.loc[f"income < {lo:g}", "n_current"] == 10 and f.loc[f"income > {hi:g}", "n_current"] == 20
    inside = f.drop(index=[f"income < {lo:g}", f"income > {hi:g}"])
    assert inside["n_current"].sum() == len(cur) - 30 # no row of the current period under a predicate it does not satisfy


def test_a_reference_frame_and_current_rows_whose_labels_have_not_arrived(periods, tmp_path):
    "The reference may be a frame named by y_true/y_pred/y_score; the current rows need not have the label column yet."
    ev, reference, current = periods
    want = mc.estimate_performance(ev, current, by=["channel"], **COLUMNS)
    got = mc.estimate_performance(reference, current.drop(columns="default"), by=["channel"], y_true="default", **COLUMNS)
    assert not got.labelled
    pd.testing.assert_frame_equal(got.frame, want.frame)
    reference.to_parquet(tmp_path / "reference.parquet")
    pd.testing.assert_frame_equal(mc.drift(str(tmp_path / "reference.parquet"), current, y_true="default", **COLUMNS).frame,
                                  mc.drift(ev, current, y_true="default", **COLUMNS).frame, check_exact=False, rtol=1e-9)
    with pytest.raises(ValueError, match="a reference given as a frame needs y_true="): mc.drift(reference, current, **COLUMNS)
