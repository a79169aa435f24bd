"""Parity of the engines (Polars, PyArrow through DuckDB, DuckDB relations, Parquet files, Spark) with the in-memory path.

Every engine must give the slice table pandas gives: exactly (up to float rounding) for counts, weights, confusion-count
metrics and their intervals, and for regression sums; within the stated bound for the binned ROC AUC and average precision.
"""
import os
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import mlcompass as mc
from mlcompass import engines as E

pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")

COLS = ["y", "pred", "score", "w"]
FEATURES = ["age", "education", "sex", "race", "hours-per-week"]
BY = ["age", "sex", "race"]
EXACT = ["accuracy", "precision", "f1", "balanced_accuracy", "selection_rate"]


def adult_predictions(seed=0):
    "UCI Adult with a simple score, some missing feature values and weights."
    df = mc.datasets.load_adult()
    rng = np.random.default_rng(seed)
    y = df["income"].str.contains(">50K").astype(int)
    z = 0.05 * (df["age"] - 40) + 0.3 * (df["education-num"] - 10) + (df["sex"] == "Male") * 0.8 - 1.5 + rng.normal(0, 1, len(df))
    s = 1 / (1 + np.exp(-z))
    d = df[FEATURES].assign(y=y, pred=(s > 0.5).astype(int), score=s.round(6), w=rng.uniform(0.5, 2, len(df)).round(3))
    d["age"] = d["age"].astype(float)
    d.loc[::17, "education"] = None
    d.loc[::23, "age"] = np.nan
    return d.reset_index(drop=True)


@pytest.fixture(scope="module")
def adult(): return adult_predictions()


def frames(d):
    "The same data in every in-process engine."
    return {"polars": pl.from_pandas(d), "polars-lazy": pl.from_pandas(d).lazy(), "pyarrow": pa.Table.from_pandas(d, preserve_index=False),
            "duckdb": duckdb.from_df(d)}


def quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame, skip=()):
    "Same slices in the same order, every number equal up to rounding (NaN == NaN)."
    assert list(a["slice"]) == list(b["slice"])
    for c in a.columns:
        if c in skip or any(c.startswith(s) for s in skip): continue
        if a[c].dtype.kind in "fiub":
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=c)
        else:
            assert a[c].astype(object).where(a[c].notna(), None).tolist() == b[c].astype(object).where(b[c].notna(), None).tolist(), c


def assert_binned_within_bound(a, b, metric):
    err = np.abs(a[metric].to_numpy(float) - b[metric].to_numpy(float))
    bound = b[metric + "_bound"].to_numpy(float)
    ok = np.isnan(err) & np.isnan(b[metric].to_numpy(float)) | (err <= bound + 1e-12)
    assert ok.all(), pd.DataFrame({"slice": a["slice"], "err": err, "bound": bound})[~ok]


def assert_similar_widths(a, b, metric):
    "Bootstrap intervals from different draws: typically the same width, each within 35%."
    ratio = ((b[metric + "_ci_high"] - b[metric + "_ci_low"]) / (a[metric + "_ci_high"] - a[metric + "_ci_low"])).to_numpy(float)
    ratio = ratio[np.isfinite(ratio)]
    assert 0.9 < np.median(ratio) < 1.1 and (np.abs(ratio - 1) < 0.35).mean() > 0.95, (metric, np.sort(ratio))


@pytest.mark.parametrize("engine", ["polars", "polars-lazy", "pyarrow", "duckdb"])
def test_binary_slices_weighted_equal_pandas(adult, engine):
    ref = mc.Evaluation.from_frame(adult, y_true="y", y_pred="pred", y_score="score", sample_weight="w", features=FEATURES)
    ev = mc.Evaluation.from_frame(frames(adult)[engine], y_true="y", y_pred="pred", y_score="score", sample_weight="w", features=FEATURES)
    assert isinstance(ev, E.EngineEvaluation) and ev.is_weighted and ev.pos_label == 1
    kw = dict(by=BY, max_depth=2, metrics=EXACT, zero_division=np.nan)
    assert_same_table(quiet(ref.slices, **kw).to_frame(), quiet(ev.slices, **kw).to_frame())


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_binned_rank_metrics_within_their_bound(adult, engine):
    ref = mc.Evaluation.from_frame(adult, y_true="y", y_pred="pred", y_score="score", features=FEATURES)
    ev = mc.Evaluation.from_frame(frames(adult)[engine], y_true="y", y_pred="pred", y_score="score", features=FEATURES)
    kw = dict(by=BY, max_depth=2, metrics=["accuracy", "roc_auc", "average_precision"], n_boot=50, zero_division=np.nan)
    a, b = quiet(ref.slices, **kw).to_frame(), quiet(ev.slices, **kw).to_frame()
    assert_same_table(a, b, skip=("roc_auc", "average_precision"))
    for m in ("roc_auc", "average_precision"): assert_binned_within_bound(a, b, m)
    assert np.nanmax(b["roc_auc_bound"]) < 0.01
    # the bootstrap interval of the binned AUC covers the figure and is about as wide as the exact one
    wa, wb = (a.roc_auc_ci_high - a.roc_auc_ci_low), (b.roc_auc_ci_high - b.roc_auc_ci_low)
    big = a.n > 2000
    assert 0.8 < np.median(wb[big] / wa[big]) < 1.25 # 50 replicates each: compare the typical width
    assert ((b.roc_auc_ci_low <= b.roc_auc) & (b.roc_auc <= b.roc_auc_ci_high))[b.roc_auc.notna()].all()
    assert abs(ev.metrics(["roc_auc"])["roc_auc"] - ref.metrics(["roc_auc"])["roc_auc"]) <= ev.metrics(["roc_auc"]).to_frame().loc["roc_auc", "bound"]


def test_overall_metrics_and_fairness_equal_pandas(adult):
    ref = mc.Evaluation.from_frame(adult, y_true="y", y_pred="pred", features=FEATURES)
    ev = mc.Evaluation.from_frame(pl.from_pandas(adult), y_true="y", y_pred="pred", features=FEATURES)
    pd.testing.assert_frame_equal(ref.metrics(["accuracy", "f1", "recall"]).to_frame(), ev.metrics(["accuracy", "f1", "recall"]).to_frame(), rtol=1e-12)
    fa, fb = ref.fairness(sensitive=["sex", "race"]), ev.fairness(sensitive=["sex", "race"])
    pd.testing.assert_frame_equal(fa.disparities(), fb.disparities(), rtol=1e-12)
    pd.testing.assert_frame_equal(fa.by_group, fb.by_group, rtol=1e-12)
    assert fa.small_groups == fb.small_groups


def synthetic_multiclass(n=20000, seed=1):
    rng = np.random.default_rng(seed)
    labs = np.array(["cat", "dog", "bird"])
    t = rng.integers(0, 3, n)
    p = np.where(rng.random(n) < 0.7, t, rng.integers(0, 3, n))
    P = rng.dirichlet([1, 1, 1], n); P[np.arange(n), p] += 1; P /= P.sum(1, keepdims=True)
    return pd.DataFrame({"y": labs[t], "pred": labs[p], "s_bird": P[:, 2].round(6), "s_cat": P[:, 0].round(6), "s_dog": 0.0,
                         "device": rng.choice(["ios", "android", "web"], n), "load": rng.exponential(3, n).round(2),
                         "region": rng.choice(list("abcdefgh"), n)}).assign(s_dog=lambda d: 1 - d.s_bird - d.s_cat)


def test_multiclass_with_binned_numbers_and_other(duck=None):
    d = synthetic_multiclass()
    args = dict(y_true="y", y_pred="pred", y_score=["s_bird", "s_cat", "s_dog"], features=["device", "load", "region"])
    ref, ev = mc.Evaluation.from_frame(d, **args), mc.Evaluation.from_frame(duckdb.from_df(d), **args)
    assert ev.task == "multiclass" and ev.labels.tolist() == ["bird", "cat", "dog"]
    kw = dict(by=["device", "load", "region"], max_depth=2, max_values=5, metrics=["accuracy", "f1_macro", "precision_weighted", "log_loss", "brier", "roc_auc"],
              n_boot=100, zero_division=np.nan)
    a, b = quiet(ref.slices, **kw), quiet(ev.slices, **kw)
    a, b = a.to_frame(), b.to_frame()
    assert "region in ((other): 4 values)" in set(b["slice"])
    assert_same_table(a, b, skip=("roc_auc", "f1_macro_ci", "precision_weighted_ci", "log_loss_ci", "brier_ci", "p_value"))
    assert_binned_within_bound(a, b, "roc_auc")
    # log loss and Brier intervals: moment-matched normal replicates vs the row bootstrap
    for m in ("log_loss", "brier"):
        assert_similar_widths(a, b, m)


def test_regression_sums_equal_pandas():
    rng = np.random.default_rng(2)
    n = 20000
    d = pd.DataFrame({"y": rng.normal(50, 10, n), "g": rng.choice(["a", "b", "c"], n), "x": rng.uniform(0, 1, n)})
    d["pred"] = d["y"] + rng.normal(0, 3, n) + (d["g"] == "b") * 2
    ref = mc.Evaluation.from_frame(d, y_true="y", y_pred="pred")
    ev = mc.Evaluation.from_frame(pl.from_pandas(d).lazy(), y_true="y", y_pred="pred")
    assert ev.task == "regression"
    kw = dict(by=["g", "x"], max_depth=2, metrics=["mae", "rmse", "r2", "bias", mc.Cost(over=1, under=3)], n_boot=200)
    a, b = ref.slices(**kw).to_frame(), ev.slices(**kw).to_frame()
    assert_same_table(a, b, skip=("mae_ci", "rmse_ci", "r2_ci", "bias_ci", "cost_ci", "p_value"))
    for m in ("mae", "rmse", "r2", "bias"):
        assert_similar_widths(a, b, m)
    # the slice-vs-rest test finds the same slices
    assert ((a.p_value < 0.01) == (b.p_value < 0.01)).mean() > 0.9


def with_previous(d, seed=5):
    "Add a previous system's predictions (a column of the same source): better where the current model is worse, and vice versa."
    rng = np.random.default_rng(seed)
    flip = rng.random(len(d)) < np.where(d["sex"] == "Female", 0.35, 0.08)
    return d.assign(prev=np.where(flip, 1 - d["y"], d["y"]))


@pytest.mark.parametrize("weighted", [False, True])
def test_compare_equals_pandas(adult, weighted):
    "mc.compare on an engine: the same table as in memory, to the last digit, paired changes, intervals and p-values included."
    d = with_previous(adult)
    args = dict(y_true="y", y_pred="pred", y_score="score", sample_weight="w" if weighted else None, features=FEATURES + ["prev"])
    ref = mc.Evaluation.from_frame(d, **args)
    base = lambda m: [mc.PreviousSystem("prev", name="v1"), mc.HumanLevel(0.9, metric=m, source="stated"), mc.Literature(0.85, metric=m, source="paper")]
    for metric in ("accuracy", "f1", "recall"):
        kw = dict(by=BY, max_depth=2, metric=metric, min_support=30)
        a = quiet(mc.compare, ref, base(metric), **kw).to_frame()
        for name, frame in frames(d).items():
            b = quiet(mc.compare, mc.Evaluation.from_frame(frame, **args), base(metric), **kw).to_frame()
            assert_same_table(a, b)
            assert metric != "accuracy" or set(b["v1_verdict"]) >= {"better", "worse"}, name
    # the gates read the same figures: regression against the previous system and gain over the trivial model
    gates = mc.Gates(min_overall={"accuracy": 0.7}, min_slice={"accuracy": 0.7}, max_regression={"accuracy": 0.005},
                     min_gain_over_trivial={"accuracy": 0.02}, max_disparity={"selection_rate": 0.2}, by=["sex", "race"], sensitive=["sex"])
    g_ref = ref.check(gates, previous=mc.PreviousSystem("prev"))
    g_eng = mc.Evaluation.from_frame(pl.from_pandas(d), **args).check(gates, previous=mc.PreviousSystem("prev"))
    pd.testing.assert_frame_equal(g_ref.to_frame(), g_eng.to_frame(), rtol=1e-9, check_dtype=False)
    assert not g_eng.passed and (g_eng.failures["gate"] == "max regression").any()


def test_compare_multiclass_and_a_previous_evaluation_of_the_same_source():
    d = synthetic_multiclass()
    rng = np.random.default_rng(3)
    d["prev"] = np.where(rng.random(len(d)) < 0.2, rng.choice(["bird", "cat", "dog"], len(d)), d["y"])
    args = dict(y_true="y", y_pred="pred", features=["device", "load", "region", "prev"])
    ref = mc.Evaluation.from_frame(d, **args)
    src = duckdb.from_df(d)
    ev = mc.Evaluation.from_frame(src, **args)
    previous = mc.Evaluation.from_frame(src, y_true="y", y_pred="prev") # an evaluation built from the same source
    kw = dict(by=["device", "load"], max_depth=2, metric="balanced_accuracy")
    a = mc.compare(ref, [mc.PreviousSystem("prev", name="v1")], **kw).to_frame()
    b = mc.compare(ev, [mc.PreviousSystem(previous, name="v1")], **kw).to_frame()
    assert_same_table(a, b)


def test_compare_regression_on_an_engine():
    "Regression: the paired changes are exact; their intervals come from Gaussian replicates with the bootstrap's moments."
    rng = np.random.default_rng(6)
    n = 20000
    d = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "y": rng.normal(10, 3, n)})
    d["pred"] = d["y"] + rng.normal(0, np.where(d["g"] == "a", 1, 2), n)
    d["prev"] = d["y"] + rng.normal(0, np.where(d["g"] == "c", 1, 2), n)
    args = dict(y_true="y", y_pred="pred", features=["g", "prev"])
    ref, ev = mc.Evaluation.from_frame(d, **args), mc.Evaluation.from_frame(pl.from_pandas(d).lazy(), **args)
    assert ev.metrics(["mae"]).to_frame().loc["mae", "value"] == pytest.approx(ref.metrics(["mae"]).to_frame().loc["mae", "value"], rel=1e-12)
    for metric in ("mae", "rmse", "r2"):
        a = mc.compare(ref, [mc.PreviousSystem("prev", name="v1")], by="g", metric=metric).to_frame()
        b = mc.compare(ev, [mc.PreviousSystem("prev", name="v1")], by="g", metric=metric).to_frame()
        assert_same_table(a, b, skip=("v1_change_ci", "v1_p_value", "model_ci", "gap_ci", "gap_p_value", "potential_gain_ci"))  # regression intervals: see test_regression_sums_equal_pandas
        assert a["v1_verdict"].tolist() == b["v1_verdict"].tolist() == ["no detectable change", "better", "no detectable change", "worse"]
        wa, wb = (f["v1_change_ci_high"] - f["v1_change_ci_low"] for f in (a, b))
        assert np.all(np.abs(wb / wa - 1) < 0.35), (metric, (wb / wa).tolist())


def test_what_engines_cannot_compare_says_so(adult):
    d = with_previous(adult)
    frame = pl.from_pandas(d)
    ev = mc.Evaluation.from_frame(frame, y_true="y", y_pred="pred", y_score="score", features=FEATURES + ["prev"])
    with pytest.raises(ValueError, match=r"PreviousSystem 'previous system' must be a column of the same source on an engine \(Polars\): "
                                         r"add the previous predictions as a column .* got ndarray"):
        mc.compare(ev, [mc.PreviousSystem(d["prev"].to_numpy())])
    with pytest.raises(ValueError, match=r"got an evaluation of the same source with y_true='pred'"):
        mc.compare(ev, [mc.PreviousSystem(mc.Evaluation.from_frame(frame, y_true="pred", y_pred="prev"))])
    with pytest.raises(ValueError, match=r"'prevv' is not a column of the source; available columns: \['age'"):
        mc.compare(ev, [mc.PreviousSystem("prevv")])
    with pytest.raises(NotImplementedError, match=r"a paired comparison of roc_auc on an engine \(Polars\) needs each row's pair of scores"):
        mc.compare(ev, [mc.PreviousSystem("prev", y_score="score")], metric="roc_auc")
    with pytest.raises(NotImplementedError, match=r"human_labels holds its labels in memory, and this evaluation's data is in Polars"):
        mc.compare(ev, [mc.HumanLevel.from_labels(d["prev"])])
    with pytest.raises(NotImplementedError, match=r"Trivial\('stratified'\) on an engine \(Polars\): engines compute the constant models \['majority'\]"):
        mc.compare(ev, [mc.Trivial("stratified")])
    with pytest.raises(ValueError, match="previous='prevv' names no column of the evaluation's data"): # in memory, the same call
        mc.compare(mc.Evaluation.from_frame(d, y_true="y", y_pred="pred", features=FEATURES), [mc.PreviousSystem("prevv")])


def test_parquet_path_reads_through_duckdb(adult, tmp_path):
    con = duckdb.connect()
    con.register("adult", adult.assign(i=np.arange(len(adult))))
    for i in range(3): # a folder of files
        con.execute(f"COPY (SELECT * EXCLUDE (i) FROM adult WHERE i % 3 = {i}) TO '{tmp_path / f'part{i}.parquet'}' (FORMAT parquet)")
    ev = mc.Evaluation.from_frame(str(tmp_path), y_true="y", y_pred="pred", y_score="score", features=FEATURES)
    assert ev.engine.name == "DuckDB (Parquet)" and ev.n == len(adult)
    ref = mc.Evaluation.from_frame(adult, y_true="y", y_pred="pred", y_score="score", features=FEATURES)
    kw = dict(by=BY, max_depth=2, metrics=EXACT, zero_division=np.nan)
    assert_same_table(quiet(ref.slices, **kw).to_frame(), quiet(ev.slices, **kw).to_frame())
    ev2 = mc.Evaluation.from_frame(tmp_path / "part0.parquet", y_true="y", y_pred="pred", features=FEATURES)
    assert ev2.n == (len(adult) + 2) // 3


def test_queries_stay_few_and_are_cached(adult):
    ev = mc.Evaluation.from_frame(duckdb.from_df(adult), y_true="y", y_pred="pred", features=FEATURES)
    q0 = ev.engine.queries # construction: the checks and the label pairs, in one group-by (integer labels)
    assert q0 == 1
    fl = mc.Evaluation.from_frame(duckdb.from_df(adult.assign(y=adult["y"].astype(float))), y_true="y", y_pred="pred", features=FEATURES)
    assert fl.engine.queries == 2 and fl.task == "binary" # float labels: the checks first tell labels from continuous targets
    ev.slices(by=["sex", "race", "education"], max_depth=3, metrics=["accuracy", "f1"], zero_division=np.nan)
    assert ev.engine.queries == q0 + 1 # categorical features: one group-by
    prev = adult.assign(prev=1 - adult["pred"])
    ev2 = mc.Evaluation.from_frame(duckdb.from_df(prev), y_true="y", y_pred="pred", features=FEATURES + ["prev"])
    q1 = ev2.engine.queries
    ev2.compare([mc.PreviousSystem("prev")], by=["sex", "race"])
    assert ev2.engine.queries == q1 + 2 # the model's slices, and one joint group-by for every paired figure (the previous system's own slices run on its engine)
    trivial = [d for k, d in ev2.engine._derived.items() if k[0] == "trivial"]
    assert len(trivial) == 1 and trivial[0].engine.queries == 0 # the majority class's figures follow from the model's table
    ev.slices(by=["sex", "race", "education"], max_depth=2, metrics=["accuracy"])
    assert ev.engine.queries == q0 + 1 # the same finest table, from the cache
    ev.slices(by=["age"], metrics=["accuracy"])
    assert ev.engine.queries == q0 + 3 # a numeric feature: its quantiles, then the group-by


def test_examples_are_fetched_from_the_engine(adult):
    ev = mc.Evaluation.from_frame(pl.from_pandas(adult).lazy(), y_true="y", y_pred="pred", y_score="score", features=FEATURES)
    sf = ev.slices(by=["sex", "age"], max_depth=2, metrics=["accuracy"])
    f = sf.to_frame()
    for pred in ["sex == 'Female'", "age is missing", f.loc[f.depth == 2, "slice"].iloc[3]]:
        row = f[f.slice == pred].iloc[0]
        got = ev.examples(10_000_000, slice=pred, sf=sf)
        assert len(got) == row.n, pred
        err = ev.examples(10_000_000, slice=pred, sf=sf, errors_only=True)
        assert len(err) == round(row.n * (1 - row.accuracy)), pred
    small = ev.to_evaluation(50, errors_only=True)
    assert small.n == 50 and (small.t != small.p).all() and not isinstance(small, E.EngineEvaluation)


def test_bad_input_is_named(adult):
    lf = pl.from_pandas(adult).lazy()
    with pytest.raises(ValueError, match="y_pred='prediction' is not a column of df"):
        mc.Evaluation.from_frame(lf, y_true="y", y_pred="prediction")
    bad = adult.assign(pred=adult["pred"].astype(float).where(adult.index % 100 != 5, np.nan))
    with pytest.raises(ValueError) as e:
        mc.Evaluation.from_frame(pl.from_pandas(bad), y_true="y", y_pred="pred")
    assert str(e.value) == mc.core.MSG_MISSING_VALUES.format(arg="y_pred", count=326, positions=E.NOT_LOCATED)
    with pytest.raises(ValueError, match="y_score must hold probabilities in"):
        mc.Evaluation.from_frame(pl.from_pandas(adult.assign(score=adult.score * 2)), y_true="y", y_pred="pred", y_score="score")
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        mc.Evaluation.from_frame(pl.from_pandas(adult.assign(w=adult.w - 1)), y_true="y", y_pred="pred", sample_weight="w")
    with pytest.raises(TypeError) as e:
        mc.Evaluation.from_frame(np.zeros((3, 3)), y_true="y", y_pred="pred")
    assert str(e.value) == E.MSG_FRAME_TYPE.format(type="ndarray")
    ev = mc.Evaluation.from_frame(lf, y_true="y", y_pred="pred", features=FEATURES)
    with pytest.raises(NotImplementedError) as e: ev.thresholds()
    assert str(e.value) == mc.core.MSG_ENGINE_UNSUPPORTED.format(what="ev.thresholds()", engine="Polars")
    with pytest.raises(ValueError) as e: ev.slices(by="sex", metrics={"mine": lambda t, p: 0.0})
    assert str(e.value) == E.MSG_ENGINE_CALLABLE.format(name="mine", engine="Polars")
    with pytest.raises(ValueError, match="by='weather' is not a column of the evaluation's data"):
        ev.slices(by="weather")


# -- Spark: one short local session for the module ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    s = (SparkSession.builder.master("local[2]").appName("mlcompass-tests")
         .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.sql.shuffle.partitions", "2").config("spark.default.parallelism", "2").getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def test_spark_equals_pandas(spark, adult):
    sdf = spark.createDataFrame(pa.Table.from_pandas(adult, preserve_index=False))
    args = dict(y_true="y", y_pred="pred", y_score="score", sample_weight="w", features=FEATURES)
    ref, ev = mc.Evaluation.from_frame(adult, **args), mc.Evaluation.from_frame(sdf, **args)
    assert ev.engine.name == "Spark"
    kw = dict(by=BY, max_depth=2, metrics=EXACT + ["roc_auc"], n_boot=50, zero_division=np.nan)
    a, b = quiet(ref.slices, **kw).to_frame(), quiet(ev.slices, **kw).to_frame()
    assert_same_table(a, b, skip=("roc_auc", "f1_ci", "balanced_accuracy_ci"))
    assert_binned_within_bound(a, b, "roc_auc")
    assert len(ev.examples(5, slice="sex == 'Female'", sf=quiet(ev.slices, by="sex", metrics=["accuracy"]))) == 5
    # paired comparison with the previous system, in the same session
    d = with_previous(adult)
    sdf = spark.createDataFrame(pa.Table.from_pandas(d, preserve_index=False))
    args["features"] = FEATURES + ["prev"]
    kw = dict(by=["sex", "race"], metric="accuracy", n_boot=50)
    a = mc.compare(mc.Evaluation.from_frame(d, **args), [mc.PreviousSystem("prev", name="v1")], **kw).to_frame()
    b = mc.compare(mc.Evaluation.from_frame(sdf, **args), [mc.PreviousSystem("prev", name="v1")], **kw).to_frame()
    assert_same_table(a, b)


def test_dashboard_and_tagger_fetch_examples_from_the_engine(adult, tmp_path):
    from mlcompass.widgets import Dashboard, ErrorTagger, ENGINE_EXAMPLES, ENGINE_TAGGER_EXAMPLES
    d = adult.assign(id=np.arange(len(adult)) * 7)
    ev = mc.Evaluation.from_frame(pl.from_pandas(d).lazy(), y_true="y", y_pred="pred", features=FEATURES + ["id"])
    dash = Dashboard(ev, by=["sex", "race"])
    dash.example_slice.value = ("Slices", "sex == 'Female'")
    html = dash._render("Examples")
    df = dash.results["Examples"]
    assert len(df) == ENGINE_EXAMPLES and (df["sex"] == "Female").all() and (df["y"] != df["pred"]).all()
    assert "ev.examples(" in html
    assert "ev.slices(" in dash.views["Slices"].value and "Fairness" in dash.views
    dash.heat_rows.value, dash.heat_cols.value = "sex", "race"  # the heat map's cells open from the engine too
    dash.tab.selected_index = mc.widgets.TABS.index("Heat map")
    cell = dash.open_slice["Heat map"].options[0]
    dash.open_examples(cell, "Heat map")
    sex, race = cell.split(" & ")
    assert (dash.results["Examples"]["sex"] == sex.split("'")[1]).all() and (dash.results["Examples"]["race"] == race.split("'")[1]).all()
    with pytest.raises(ValueError) as e: ErrorTagger(ev, store=tmp_path / "tags.csv")
    assert str(e.value) == E.MSG_TAGGER_ID.format(engine="Polars")
    tagger = ErrorTagger(ev, store=tmp_path / "tags.csv", id_column="id", tags=["noise"])
    assert len(tagger.order) == ENGINE_TAGGER_EXAMPLES
    first = tagger.current_id
    tagger.tag(first, "noise")
    assert int(first) % 7 == 0 and first in set(tagger.tags["id"])


def test_classes_equal_pandas(adult):
    "Per-class figures, averages and the accuracy paradox from the engine's whole-set table, as in memory."
    for d, args in ((synthetic_multiclass(), dict(y_true="y", y_pred="pred")), (adult, dict(y_true="y", y_pred="pred", sample_weight="w"))):
        ref, ev = mc.Evaluation.from_frame(d, **args), mc.Evaluation.from_frame(pl.from_pandas(d), **args)
        a, b = quiet(ref.classes), quiet(ev.classes)
        pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(a.averages, b.averages, check_exact=False, rtol=1e-12)
        assert (a.paradox, a.summary()) == (b.paradox, b.summary())


def test_discover_equals_pandas(adult):
    "SliceLine on an engine searches the finest slices with their counts and finds what it finds on the examples."
    for w in (None, "w"):
        args = dict(y_true="y", y_pred="pred", features=FEATURES, sample_weight=w)
        ref, ev = mc.Evaluation.from_frame(adult, **args), mc.Evaluation.from_frame(pl.from_pandas(adult), **args)
        a, b = quiet(ref.discover, by=FEATURES), quiet(ev.discover, by=FEATURES)
        pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
        assert ev.engine.queries == 3 # the checks, the whole set, the slice query (its wrong examples need no query)
    with pytest.raises(NotImplementedError, match=r"as_columns\(\) needs one mask value per example, and these slices were found in an engine"):
        b.as_columns()
    d = synthetic_multiclass() # multiclass, binned numbers and (other), on DuckDB
    args = dict(y_true="y", y_pred="pred", features=["device", "load", "region"])
    kw = dict(max_values=5, k=5, min_support=50, max_level=3)
    a, b = quiet(mc.Evaluation.from_frame(d, **args).discover, **kw), quiet(mc.Evaluation.from_frame(duckdb.from_df(d), **args).discover, **kw)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    rng = np.random.default_rng(3) # regression, squared and absolute errors, and a column of losses
    n = 20000
    r = pd.DataFrame({"y": rng.normal(50, 10, n), "g": rng.choice(list("abcd"), n), "x": rng.uniform(0, 1, n)})
    r["pred"] = r["y"] + rng.normal(0, 3, n) + (r["g"] == "b") * (r["x"] > 0.6) * 6
    r["loss"] = (r["pred"] - r["y"]).abs() ** 1.5
    ref, ev = mc.Evaluation.from_frame(r, y_true="y", y_pred="pred"), mc.Evaluation.from_frame(pl.from_pandas(r).lazy(), y_true="y", y_pred="pred")
    for kw in (dict(), dict(error="absolute")):
        a, b = ref.discover(by=["g", "x"], **kw).to_frame(), ev.discover(by=["g", "x"], **kw).to_frame()
        assert "g == 'b'" in a["slice"].iloc[0] # the planted failure
        assert_same_table(a, b, skip=("mae_ci", "p_value"))
    a, b = ref.discover(by=["g", "x"], errors=r["loss"].to_numpy()).to_frame(), ev.discover(by=["g", "x"], errors="loss").to_frame()
    assert_same_table(a, b, skip=("mae_ci", "p_value"))
    with pytest.raises(ValueError, match=r"errors= on an engine \(Polars\) names a column of the source holding each example's non-negative loss; got 'los', which is not a column"):
        ev.discover(by="g", errors="los")
    with pytest.raises(ValueError, match=r"errors='y' has 0 missing and [1-9][\d,]* negative values"):
        mc.Evaluation.from_frame(pl.from_pandas(r.assign(y=r.y - 60)), y_true="y", y_pred="pred").discover(by="g", errors="y")
    with pytest.raises(NotImplementedError, match=r"method='tree' fits a tree to the examples themselves, and this evaluation's data is in Polars"):
        ev.discover("tree", by="g")


def model_and_previous_files(adult, tmp_path):
    """The data with a previous model's predictions, its in-memory evaluation (the previous predictions a column), the two models'
    predictions written to two Parquet files, and the arguments that read either file."""
    d = with_previous(adult)
    model, prev = tmp_path / "model.parquet", tmp_path / "prev.parquet"
    d.drop(columns="prev").to_parquet(model); d.assign(pred=d.prev).drop(columns="prev").to_parquet(prev)
    ref = mc.Evaluation.from_frame(d, y_true="y", y_pred="pred", features=FEATURES + ["prev"], sample_weight="w")
    return d, ref, model, prev, dict(y_true="y", y_pred="pred", features=FEATURES, sample_weight="w")


def test_previous_from_another_file_and_a_stored_run(adult, tmp_path):
    "Another file's predictions, or a stored run's, are matched row by row in the engine (DuckDB and Polars), as pandas pairs them."
    d, ref, model, prev, args = model_and_previous_files(adult, tmp_path)
    a = quiet(mc.compare, ref, [mc.PreviousSystem("prev")], by=BY[1:]).to_frame()
    for read in (str, pl.scan_parquet):
        ev, pv = (mc.Evaluation.from_frame(read(p), **args) for p in (model, prev))
        pd.testing.assert_frame_equal(a, quiet(mc.compare, ev, [mc.PreviousSystem(pv)], by=BY[1:]).to_frame(), check_exact=False, rtol=1e-9)
        # a run logged from an engine: its predictions are written by the engine, and it is the previous system of either path
        st = mc.RunStore(tmp_path / f"runs-{read.__name__}.db")
        st.log(pv, name="v1", by=["sex"])
        assert st.runs()["fingerprint"].isna().all() and len(st.predictions("v1")) == len(d)
        for e in (ev, ref):
            c = quiet(mc.compare, e, [mc.PreviousSystem.from_run("v1", store=st, name="previous system")], by=BY[1:]).to_frame()
            pd.testing.assert_frame_equal(a, c, check_exact=False, rtol=1e-9)
    ev = mc.Evaluation.from_frame(str(model), **args)
    d.assign(y=1 - d.y, pred=d.prev).iloc[::-1].to_parquet(bad := tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"PreviousSystem 'previous system' has a different y_true from the evaluation's on [\d,]+ of 32,561 rows"):
        mc.compare(ev, [mc.PreviousSystem(mc.Evaluation.from_frame(str(bad), **args))])
    d.iloc[:100].to_parquet(short := tmp_path / "short.parquet")
    with pytest.raises(ValueError, match=r"PreviousSystem 'previous system' has 100 examples but the evaluation has 32,561"):
        mc.compare(ev, [mc.PreviousSystem(mc.Evaluation.from_frame(str(short), **args))])
    with pytest.raises(ValueError, match=r"other sources are matched row by row only when both are DuckDB .* or both Polars"):
        mc.compare(ev, [mc.PreviousSystem(mc.Evaluation.from_frame(pl.scan_parquet(prev), **args))])


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


def _same_outcome(make_a, make_b):
    "Both calls give the same table, or both raise the same error."
    try: a = make_a()
    except (ValueError, TypeError) as e:
        with pytest.raises(type(e)) as got: make_b()
        assert str(got.value) == str(e)
        return None, None
    return a, make_b()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 400), k=st.integers(2, 4), weighted=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_polars_slices_and_discovery_equal_pandas(n, k, weighted, seed):
    "On random labels, weights and missing values, Polars gives pandas' slice table and SliceLine's slices (or the same error)."
    rng = np.random.default_rng(seed)
    labs = np.array(["a", "b", "c", "d"][:k])
    d = pd.DataFrame({"y": labs[rng.integers(0, k, n)], "pred": labs[rng.integers(0, k, n)], "g": rng.choice(["x", "y", "z"], n),
                      "h": rng.integers(0, 6, n).astype(float), "w": rng.uniform(0.1, 3, n).round(3)})
    d.loc[rng.random(n) < 0.1, "g"] = None
    d.loc[rng.random(n) < 0.1, "h"] = np.nan
    args = dict(y_true="y", y_pred="pred", features=["g", "h"], sample_weight="w" if weighted else None)
    ref, ev = _same_outcome(lambda: quiet(mc.Evaluation.from_frame, d, **args), lambda: quiet(mc.Evaluation.from_frame, pl.from_pandas(d), **args))
    if ref is None: return
    kw = dict(by=["g", "h"], max_depth=2, metrics=["accuracy", "f1_macro", "recall_macro"], zero_division=np.nan, n_boot=30)
    assert_same_table(quiet(ref.slices, **kw).to_frame(), quiet(ev.slices, **kw).to_frame())
    a, b = _same_outcome(lambda: quiet(ref.discover, by=["g", "h"], min_support=3, k=5),
                         lambda: quiet(ev.discover, by=["g", "h"], min_support=3, k=5))
    if a is not None: pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def _same_regressions(a, b):
    fa, fb = a.to_frame(), b.to_frame()
    assert len(fa) and fa["slice"].tolist() == fb["slice"].tolist()
    assert_same_table(fa, fb)
    assert a.folded()["slice"].tolist() == b.folded()["slice"].tolist()
    for k, v in a.overall.items(): assert b.overall[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k


def test_regressions_against_another_file_and_a_stored_run(adult, tmp_path):
    "mc.regressions on an engine with the previous predictions in another file, or a stored run's, matched row by row: as in memory."
    d, ref, model, prev, args = model_and_previous_files(adult, tmp_path)
    kw = dict(by=BY, metric="accuracy", k=5)
    a = quiet(mc.regressions, ref, mc.PreviousSystem("prev"), **kw)
    for read in (str, pl.scan_parquet):
        ev, pv = (mc.Evaluation.from_frame(read(p), **args) for p in (model, prev))
        _same_regressions(a, quiet(mc.regressions, ev, mc.PreviousSystem(pv), **kw))
        st = mc.RunStore(tmp_path / f"runs-{read.__name__}.db")
        st.log(pv, name="v1", by=["sex"])
        _same_regressions(a, quiet(mc.regressions, ev, mc.PreviousSystem.from_run("v1", store=st), **kw))
    ev = mc.Evaluation.from_frame(pl.from_pandas(d), y_true="y", y_pred="pred", features=FEATURES + ["prev"])
    with pytest.raises(ValueError, match=r"PreviousSystem 'previous system' must be a column of the same source on an engine \(Polars\)"):
        mc.regressions(ev, d["prev"].to_numpy())
    with pytest.raises(NotImplementedError, match=r"a paired comparison of roc_auc on an engine \(Polars\)"):
        mc.regressions(mc.Evaluation.from_frame(pl.from_pandas(d), y_true="y", y_pred="pred", y_score="score", features=FEATURES + ["prev"]),
                       mc.PreviousSystem("prev", y_score="score"), by=BY, metric="roc_auc")


def test_regressions_on_spark(spark, adult):
    d = with_previous(adult)
    args = dict(y_true="y", y_pred="pred", sample_weight="w", features=FEATURES + ["prev"])
    sdf = spark.createDataFrame(pa.Table.from_pandas(d, preserve_index=False))
    kw = dict(by=BY, metric="accuracy", k=5, n_boot=50)
    a = quiet(mc.regressions, mc.Evaluation.from_frame(d, **args), mc.PreviousSystem("prev"), **kw)
    b = quiet(mc.regressions, mc.Evaluation.from_frame(sdf, **args), mc.PreviousSystem("prev"), **kw)
    assert b.per_example is False
    _same_regressions(a, b)


def test_spark_drift_and_estimates_equal_pandas(spark):
    "The current period in Spark: drift and the estimate are the same tables as with pandas."
    r, c = mc.datasets.make_drift(n_reference=4000, n_current=2000, seed=21)
    ev = mc.Evaluation.from_frame(r, y_true="default", y_pred="flagged", y_score="score", features=["channel", "income"])
    cols = dict(by=["channel", "income"], y_pred="flagged", y_score="score", y_true="default")
    sdf = spark.createDataFrame(pa.Table.from_pandas(c, preserve_index=False))
    pd.testing.assert_frame_equal(mc.drift(ev, sdf, **cols).frame, mc.drift(ev, c, **cols).frame, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(mc.estimate_performance(ev, sdf, **cols).frame, mc.estimate_performance(ev, c, **cols).frame,
                                  check_exact=False, rtol=1e-9)
