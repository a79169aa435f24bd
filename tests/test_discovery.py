"""Slice discovery: exact against brute force, in agreement with the sliceline package, pruning sound, bad input answered."""
import itertools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

import mlcompass as mc
from mlcompass.discovery import sliceline_search, slice_score, score_upper_bound, SCORE_EPS


def brute_force(codes, cards, e, k, max_level, sigma, alpha):
    "Every conjunction of up to max_level predicates, scored; the top-K with a positive score (same tie-breaks)."
    n, m = codes.shape
    offsets = np.concatenate([[0], np.cumsum(cards)[:-1]])
    rows = []
    for L in range(1, max_level + 1):
        for feats in itertools.combinations(range(m), L):
            g = pd.DataFrame(codes[:, feats]).assign(e=e).groupby(list(range(L)))["e"].agg(["size", "sum"])
            for vals, r in g.iterrows():
                vals = vals if isinstance(vals, tuple) else (vals,)
                if r["size"] < sigma: continue
                sc = float(slice_score(r["size"], r["sum"], n, e.mean(), alpha))
                if sc > SCORE_EPS: rows.append((sc, int(r["size"]), float(r["sum"]), tuple(int(offsets[f] + v) for f, v in zip(feats, vals))))
    rows.sort(key=lambda r: (-r[0], -r[1], len(r[3]), r[3]))
    return rows[:k]


@st.composite
def problems(draw):
    n = draw(st.integers(20, 300))
    m = draw(st.integers(1, 4))
    cards = [draw(st.integers(1, 4)) for _ in range(m)]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    codes = np.column_stack([rng.integers(0, c, n) for c in cards])
    kind = draw(st.sampled_from(["binary", "continuous", "skewed"]))
    if kind == "binary": e = (rng.random(n) < rng.uniform(0.02, 0.5)).astype(float)
    elif kind == "continuous": e = np.round(4 * rng.exponential(1, n)) / 4 * (rng.random(n) < 0.5)  # quarters: sums are exact in any order
    else: e = ((codes[:, 0] == 0) & (rng.random(n) < 0.7) | (rng.random(n) < 0.05)).astype(float)
    if np.ptp(e) == 0: e[0] = 1 - e[0] if e[0] in (0, 1) else 0
    return codes, cards, e, draw(st.integers(1, 12)), draw(st.integers(1, 4)), draw(st.integers(1, 25)), draw(st.sampled_from([0.5, 0.8, 0.95, 0.99]))


@settings(max_examples=120, deadline=None)
@given(problems())
def test_sliceline_equals_brute_force(p):
    codes, cards, e, k, L, sigma, alpha = p
    got = sliceline_search(codes, cards, e, k=k, max_level=L, min_support=sigma, alpha=alpha)["slices"]
    want = brute_force(codes, np.array(cards), e, k, L, sigma, alpha)
    assert [g[3] for g in got] == [w[3] for w in want]
    assert np.allclose([g[0] for g in got], [w[0] for w in want], rtol=1e-12, atol=0)
    assert [g[1] for g in got] == [w[1] for w in want]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.9, 0.95, 0.999]), st.booleans())
def test_upper_bound_is_an_upper_bound(seed, alpha, binary):
    "No subset of a slice (of at least sigma rows) scores above the slice's bound."
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 500))
    e = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(float) if binary else rng.exponential(1, n)
    assume(e.sum() > 0) # without any error there is nothing to score (discover says so before searching)
    sigma = int(rng.integers(1, 20))
    S = rng.choice(n, int(rng.integers(sigma, n + 1)), replace=False)
    ub = score_upper_bound(len(S), e[S].sum(), e[S].max(), n, e.mean(), alpha, sigma)
    for _ in range(20):
        T = rng.choice(S, int(rng.integers(sigma, len(S) + 1)), replace=False)
        assert slice_score(len(T), e[T].sum(), n, e.mean(), alpha) <= ub + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_sliceline_package(seed):
    sliceline = pytest.importorskip("sliceline")
    rng = np.random.default_rng(seed)
    n, m = 2000, 4
    cards = [3, 4, 3, 5]
    codes = np.column_stack([rng.integers(0, c, n) for c in cards])
    e = (rng.random(n) < 0.1 + 0.4 * ((codes[:, 0] == 1) & (codes[:, 1] == 2)) + 0.15 * (codes[:, 3] == 0)).astype(float)
    k, L, sigma, alpha = 5, 2 + seed % 2, 20, 0.9
    ours = sliceline_search(codes, cards, e, k=k, max_level=L, min_support=sigma, alpha=alpha)["slices"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = sliceline.Slicefinder(alpha=alpha, k=k, max_l=L, min_sup=sigma, verbose=False).fit(codes, e)
    theirs = sorted((s["slice_score"] for s in sf.top_slices_statistics_), reverse=True)
    assert len(theirs) == len(ours)
    assert np.allclose([o[0] for o in ours], theirs, rtol=1e-9)
    assert [o[1] for o in ours] == [s["slice_size"] for s in sorted(sf.top_slices_statistics_, key=lambda s: -s["slice_score"])]


def planted(n=4000, seed=3):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"device": rng.choice(["ios", "android", "web"], n), "noise": rng.choice(["none", "car", "people"], n),
                         "age": rng.integers(18, 80, n).astype(float)})
    data.loc[rng.random(n) < 0.05, "age"] = np.nan
    y = rng.integers(0, 2, n)
    fail = (data["device"] == "web") & (data["noise"] == "car")
    pred = np.where(rng.random(n) < np.where(fail, 0.6, 0.05), 1 - y, y)
    return mc.Evaluation(y, pred, data=data), fail.to_numpy()


def test_discover_result_columns_and_figures():
    ev, fail = planted()
    found = ev.discover(k=5, max_level=2)
    f = found.to_frame()
    assert list(f.columns) == ["slice", "depth", "device", "noise", "age", "n", "share", "error", "score", "accuracy",
                               "accuracy_ci_low", "accuracy_ci_high", "accuracy_gap", "p_value", "too_small", "verdict"]
    top = f.iloc[0]
    assert top["slice"] == "device == 'web' & noise == 'car'" and top["n"] == fail.sum()
    assert top["device"] == "web" and top["noise"] == "car" and pd.isna(top["age"])
    assert top["error"] == pytest.approx(1 - top["accuracy"])
    assert top["accuracy"] == pytest.approx((ev.y_true[fail] == ev.y_pred[fail]).mean())
    assert top["accuracy_ci_low"] < top["accuracy"] < top["accuracy_ci_high"] and top["p_value"] < 1e-6
    assert (np.diff(f["score"]) <= 1e-12).all()
    masks = found.as_columns()
    assert masks.iloc[:, 0].sum() == fail.sum()
    assert "SliceLine (exact top-5)" in found._repr_html_()


def test_regression_errors_and_custom_losses():
    rng = np.random.default_rng(0)
    n = 3000
    g = rng.choice(["a", "b", "c"], n)
    y = rng.normal(size=n)
    pred = y + rng.normal(0, np.where(g == "b", 2.0, 0.3))
    ev = mc.Evaluation(y, pred, data={"g": g})
    assert ev.discover(k=1, max_level=1).to_frame()["slice"].iloc[0] == "g == 'b'"
    f = ev.discover(k=1, max_level=1, error="absolute").to_frame()
    assert f["error"].iloc[0] == pytest.approx(np.abs(pred - y)[g == "b"].mean())
    loss = np.where(g == "c", 1.0, 0.0)
    assert ev.discover(k=1, max_level=1, errors=loss).to_frame()["slice"].iloc[0] == "g == 'c'"


def test_error_tree_leaves_partition_the_data():
    ev, fail = planted()
    found = ev.discover("tree", max_depth=3)
    f = found.to_frame()
    assert f["n"].sum() == ev.n
    total = np.zeros(ev.n, int)
    for mk in found.masks: total += mk
    assert (total == 1).all()
    e = (ev.t != ev.p).astype(float)
    for mk, err in zip(found.masks, f["error"]): assert err == pytest.approx(e[mk].mean())
    assert "device == 'web'" in f["slice"].iloc[0] and "noise == 'car'" in f["slice"].iloc[0]
    import matplotlib
    matplotlib.use("Agg")
    ax = found.plot()
    assert found.ax_ is ax
    assert any("error rate =" in t.get_text() for t in ax.texts)


def test_missing_values_are_a_value():
    ev, _ = planted()
    data = ev.data.copy()
    y = ev.y_true.copy(); p = ev.y_pred.copy()
    miss = data["age"].isna().to_numpy()
    p[miss] = 1 - y[miss]  # every example with a missing age is wrong
    found = mc.Evaluation(y, p, data=data).discover(k=3, max_level=1)
    assert "age is missing" in found.to_frame()["slice"].tolist()


def test_bad_input():
    ev, _ = planted()
    with pytest.raises(ValueError, match=re.escape("the error is the same (0) for every example")):
        mc.Evaluation([0, 1, 1], [0, 1, 1], data={"g": list("abc")}).discover(min_support=1)
    with pytest.raises(ValueError, match=re.escape("discover needs features: the evaluation has no data columns")):
        mc.Evaluation([0, 1, 1], [1, 1, 0]).discover(min_support=1)
    with pytest.raises(ValueError, match=re.escape("min_support=5000 is larger than the data (4000 examples)")):
        ev.discover(min_support=5000)
    with pytest.raises(ValueError, match=re.escape("errors must be non-negative numbers without NaN")):
        ev.discover(errors=-np.ones(ev.n))
    with pytest.raises(ValueError, match=re.escape("by='city' is not a column of the evaluation's data")):
        ev.discover(by=["city"])


def test_a_million_distinct_values_is_guarded_not_a_blowup():
    n = 1_000_000
    rng = np.random.default_rng(0)
    ids = pd.Series(np.char.add("id", np.arange(n).astype(str)), dtype="str")
    y = rng.integers(0, 2, n)
    ev = mc.Evaluation(y, np.where(rng.random(n) < 0.1, 1 - y, y), data={"id": ids, "g": rng.choice(list("ab"), n)})
    with pytest.warns(UserWarning, match=r"by='id' has 1,000,000 distinct values; keeping the 49 most frequent"):
        found = ev.discover(k=3, max_level=2, ci=None, n_boot=0)
    assert len(found) <= 3


@pytest.mark.parametrize("depth,leaf", [(2, None), (4, 30), (6, 200)])
def test_the_tree_fitted_on_distinct_rows_is_the_tree_fitted_on_every_row(depth, leaf):
    """The error tree is fitted on the distinct (features, error) rows weighted by their counts; weights of one force the fit on
    every row (min_samples_leaf then counts rows). Both must give the same leaves, missing values and numeric splits included."""
    rng = np.random.default_rng(depth)
    n = 6000
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    data = pd.DataFrame({"site": rng.choice(list("abcdef"), n), "age": age, "plan": rng.choice(["free", "pro", None], n)})
    y = rng.integers(0, 2, n)
    flip = rng.random(n) < np.where((data["site"] == "c") & (np.nan_to_num(age) > 50), 0.45, 0.1)
    pred = np.where(flip, 1 - y, y)
    a = mc.Evaluation(y, pred, data=data).discover("tree", max_depth=depth, min_samples_leaf=leaf)
    b = mc.Evaluation(y, pred, data=data, sample_weight=np.ones(n)).discover("tree", max_depth=depth, min_samples_leaf=leaf)
    pd.testing.assert_frame_equal(a.frame[["slice", "n", "error"]], b.frame[["slice", "n", "error"]])
    assert all((ma == mb).all() for ma, mb in zip(a.masks, b.masks))
