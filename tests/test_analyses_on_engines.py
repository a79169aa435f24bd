"""Every analysis on every engine, from one fixture (`source` in conftest.py): pandas, Polars and a Parquet file read by
DuckDB give the same tables, or the same clear error, including weighted comparisons, gates, and calls interleaved on one
engine evaluation (the tables an engine keeps never leak from one call into another)."""
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc

pytest.importorskip("polars"); pytest.importorskip("duckdb")


def quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["north", "south", "east"], n, p=[.5, .3, .2])
    dev = rng.choice(["ios", "android"], n)
    age = rng.integers(18, 80, n).astype(float)
    y = rng.integers(0, 2, n)
    s = np.clip(0.3 * y + 0.6 * rng.random(n) + 0.1 * (g == "east") - 0.1 * (dev == "ios"), 0, 1).round(4)
    prev = np.where(rng.random(n) < 0.75, y, 1 - y)
    return pd.DataFrame({"y": y, "pred": (s > 0.5).astype(int), "score": s, "prev": prev, "region": g, "device": dev,
                         "age": age, "w": rng.uniform(0.5, 2, n).round(3)})


def both(source, weighted=False, **kw):
    "The in-memory evaluation and the engine's, of the same data."
    d = data()
    args = dict(y_true="y", y_pred="pred", y_score="score", sample_weight="w" if weighted else None,
                features=["region", "device", "age", "prev"], **kw)
    return mc.Evaluation.from_frame(d, **args), mc.Evaluation.from_frame(source(d), **args)


def same(a: pd.DataFrame, b: pd.DataFrame, skip=("roc_auc", "average_precision")):
    "Same rows, every number equal up to rounding; binned rank metrics (engines) are compared elsewhere, within their bound."
    assert list(a.columns) == [c for c in b.columns if not c.endswith("bound")] # engines add each binned metric's error bound
    for c in a.columns:
        if any(c.startswith(s) for s in skip): continue
        if a[c].dtype.kind in "fiub": np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=c)
        else: assert a[c].astype(object).where(a[c].notna(), None).tolist() == b[c].astype(object).where(b[c].notna(), None).tolist(), c


@pytest.mark.parametrize("weighted", [False, True])
def test_slices(source, weighted):
    mem, eng = both(source, weighted)
    kw = dict(by=["region", "device", "age"], max_depth=2, metrics=["accuracy", "f1", "recall_macro"])
    same(quiet(mem.slices, **kw).to_frame(), quiet(eng.slices, **kw).to_frame())


@pytest.mark.parametrize("weighted", [False, True])
def test_compare_and_gates(source, weighted):
    mem, eng = both(source, weighted)
    base = [mc.PreviousSystem("prev", name="v1"), mc.HumanLevel(0.9)]
    kw = dict(by=["region", "device"], max_depth=2, metric="accuracy")
    same(quiet(mem.compare, base, **kw).to_frame(), quiet(eng.compare, base, **kw).to_frame())
    gates = mc.Gates(min_overall={"accuracy": 0.6}, min_slice={"accuracy": 0.6}, max_regression={"accuracy": 0.005},
                     min_gain_over_trivial={"accuracy": 0.02}, max_disparity={"selection_rate": 0.2}, by=["region"], sensitive=["device"])
    a, b = (quiet(e.check, gates, previous=mc.PreviousSystem("prev")) for e in (mem, eng))
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-9, check_dtype=False)
    assert a.passed == b.passed


def test_fairness_classes_and_discovery(source):
    mem, eng = both(source)
    same(quiet(mem.fairness, "device").to_frame(), quiet(eng.fairness, "device").to_frame())
    same(quiet(mem.classes).to_frame(), quiet(eng.classes).to_frame())
    kw = dict(by=["region", "device", "age"], min_support=50)
    same(quiet(mem.discover, **kw).to_frame(), quiet(eng.discover, **kw).to_frame())


def test_interleaved_calls_on_one_engine_evaluation(source):
    mem, eng = both(source)
    ms = dict(metrics=["accuracy", "f1", "recall_macro"])
    order = [("slices", dict(by="region", **ms)), ("slices", dict(by=["device", "age"], max_depth=2, **ms)), ("metrics", ms),
             ("discover", dict(by=["region", "device"], min_support=50)), ("slices", dict(by="region", **ms)),
             ("compare", dict(baselines=[mc.HumanLevel(0.9)], by="device")), ("metrics", ms)]
    for name, kw in order: # each call's table equals a fresh in-memory call, whatever ran before on the engine
        a, b = (quiet(getattr(e, name), **kw).to_frame() for e in (mem, eng))
        same(a, b)


def test_what_needs_rows_says_so(source):
    mem, eng = both(source)
    if source.engine == "pandas": return
    for call in (lambda: eng.curves("pr"), lambda: eng.for_class(1), lambda: eng.discover("tree")):
        with pytest.raises(NotImplementedError, match="needs the examples themselves|fits a tree to the examples"):
            call()
    assert "rows" in mem.capabilities and "rows" not in eng.capabilities


def same_regressions(a, b, skip=()):
    "Same slices, sizes, both models' figures, changes, scores, p-values and verdicts (skip: the columns whose draws differ)."
    fa, fb = a.to_frame(), b.to_frame()
    assert fa["slice"].tolist() == fb["slice"].tolist() and len(fa)
    same(fa.drop(columns=[c for c in fa if c.startswith(skip)] if skip else []), fb.drop(columns=[c for c in fb if c.startswith(skip)] if skip else []))
    for c in ("model", "previous", "change"): # the figures themselves, to the last digits
        np.testing.assert_allclose(fa[c].to_numpy(float), fb[c].to_numpy(float), rtol=1e-12, atol=1e-12, err_msg=c)
    assert set(a.overall) == set(b.overall)
    for k in a.overall:
        if not k.startswith(skip or "\0"): assert a.overall[k] == pytest.approx(b.overall[k], rel=1e-12, abs=1e-12), k
    assert a.folded()["slice"].tolist() == b.folded()["slice"].tolist()
    assert a.stats["searched"] == b.stats["searched"] and a.stats["churn"] == pytest.approx(b.stats["churn"], rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_regressions(source, weighted):
    "mc.regressions where the data is: the change of loss summed in the engine, SliceLine over its finest slices, the paired figures from its joint tables."
    d = data()
    rng = np.random.default_rng(7) # a previous model better than the new one in the east, worse elsewhere
    d["prev"] = np.where(rng.random(len(d)) < np.where(d["region"] == "east", 0.05, 0.4), 1 - d["y"], d["y"])
    args = dict(y_true="y", y_pred="pred", y_score="score", sample_weight="w" if weighted else None, features=["region", "device", "age", "prev"])
    mem, eng = mc.Evaluation.from_frame(d, **args), mc.Evaluation.from_frame(source(d), **args)
    for metric, direction in (("accuracy", "worse"), ("f1", "worse"), ("accuracy", "better")):
        kw = dict(by=["region", "device", "age"], metric=metric, direction=direction, min_support=50)
        a, b = (quiet(mc.regressions, e, mc.PreviousSystem("prev", name="v1"), **kw) for e in (mem, eng))
        same_regressions(a, b) # confusion-count metrics: the same cells, the same draws, so intervals and p-values too
        assert b.per_example == (source.engine == "pandas")
    if source.engine != "pandas":
        with pytest.raises(ValueError, match=r"PreviousSystem 'previous system' must be a column of the same source on an engine .* got ndarray"):
            mc.regressions(eng, d["prev"].to_numpy())


def test_regressions_of_a_regressor(source):
    "A regressor: the same slices, figures and changes; intervals and p-values of sums metrics come from cells on the engine (as for compare)."
    rng = np.random.default_rng(4)
    n = 6000
    d = pd.DataFrame({"region": rng.choice(["north", "south", "east"], n), "device": rng.choice(["ios", "android"], n), "x": rng.uniform(0, 1, n)})
    d["y"] = rng.normal(50, 10, n)
    d["prev"] = d["y"] + rng.normal(0, 3, n)
    d["pred"] = d["y"] + rng.normal(0, np.where((d["region"] == "north") & (d["device"] == "ios"), 6, 2.5), n)
    args = dict(y_true="y", y_pred="pred", features=["region", "device", "x", "prev"])
    mem, eng = mc.Evaluation.from_frame(d, **args), mc.Evaluation.from_frame(source(d), **args)
    for metric, error in (("mae", None), ("rmse", "squared")):
        kw = dict(by=["region", "device", "x"], metric=metric, error=error, k=5)
        a, b = (mc.regressions(e, mc.PreviousSystem("prev"), **kw) for e in (mem, eng))
        skip = ("model_ci", "previous_ci", "change_ci") + (() if source.engine == "pandas" else ("p_value",))
        same_regressions(a, b, skip=skip)
        assert a.frame["slice"].iloc[0].startswith("region == 'north' & device == 'ios'") and a.frame["verdict"].iloc[0] == "worse"
