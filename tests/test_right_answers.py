"""Inputs that once gave a silently wrong answer: each now gives scikit-learn's answer, the same on every engine, or a clear error."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

import mlcompass as mc

pl = pytest.importorskip("polars")
pytest.importorskip("duckdb")

def quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "Int8", "Int16", "Int64", "UInt8"]


@pytest.mark.parametrize("dtype", INT_TYPES)
def test_narrow_integer_labels_give_int64s_answer(dtype):
    rng = np.random.default_rng(0)
    lo = 0 if dtype.lower().startswith("u") else -100
    vals = np.array([lo, lo + 10, lo + 45, lo + 100], dtype=np.int64) + (100 if lo == 0 else 0)
    t, p = rng.choice(vals, 300), rng.choice(vals, 300)
    t[:4], p[:4] = vals, vals[[0, 1, 1, 2]]
    want = mc.Evaluation(t, p).metrics(["accuracy", "f1_macro"], ci=None).to_frame()["value"]
    assert want["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert want["f1_macro"] == pytest.approx(f1_score(t, p, average="macro"))
    tt, pp = pd.Series(t).astype(dtype), pd.Series(p).astype(dtype)
    got = mc.Evaluation(tt, pp).metrics(["accuracy", "f1_macro"], ci=None).to_frame()["value"]
    pd.testing.assert_series_equal(got, want)
    got = mc.Evaluation(tt.to_numpy(), pp.to_numpy()).metrics(["accuracy", "f1_macro"], ci=None).to_frame()["value"]
    pd.testing.assert_series_equal(got, want)


def test_the_reported_int8_case_on_every_engine(source):
    t = np.array([-100, -10, 45, 100], np.int8); p = np.array([-100, -10, -10, 45], np.int8)
    ev = mc.Evaluation.from_frame(source(pd.DataFrame({"t": t, "p": p})), y_true="t", y_pred="p")
    assert ev.labels.tolist() == [-100, -10, 45, 100]
    assert ev.metrics(["accuracy"], ci=None).to_frame().loc["accuracy", "value"] == pytest.approx(accuracy_score(t, p)) == 0.5
    wide = np.array([-120, 0, 120, 5], np.int8) # labels spanning more than 127
    ev = mc.Evaluation.from_frame(source(pd.DataFrame({"t": wide, "p": wide[::-1]})), y_true="t", y_pred="p")
    assert ev.metrics(["accuracy"], ci=None).to_frame().loc["accuracy", "value"] == 0


MACRO = ["precision_macro", "recall_macro", "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted"]


def test_the_reported_macro_case():
    y = np.array([0, 1, 0, 1, 2, 2]); g = ["a"] * 4 + ["b"] * 2
    t = mc.Evaluation(y, y, data={"g": g}).slices(by="g", metrics=["recall_macro"], zero_division=0).to_frame()
    assert t["recall_macro"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("zero_division", [0, 1])
def test_macro_averages_per_slice_equal_scikit_learn_on_the_slice(source, zero_division):
    rng = np.random.default_rng(3)
    n = 400
    g = rng.choice(["a", "b", "c", "d"], n)
    t = rng.choice([0, 1, 2, 3], n, p=[.5, .3, .15, .05])
    t[g == "b"] = rng.choice([0, 1], (g == "b").sum()) # classes 2 and 3 absent from slice b's truth
    p = np.where(rng.random(n) < .7, t, rng.choice([0, 1, 2, 3], n))
    p[g == "c"] = 0 # slice c predicts one class only
    d = pd.DataFrame({"t": t, "p": p, "g": g})
    ev = mc.Evaluation.from_frame(source(d), y_true="t", y_pred="p", features=["g"])
    got = ev.slices(by="g", metrics=MACRO, zero_division=zero_division, ci=None).to_frame().set_index("g")
    for name, rows in d.groupby("g"):
        for m in MACRO:
            which, average = m.split("_")
            fn = {"precision": precision_score, "recall": recall_score, "f1": f1_score}[which]
            want = fn(rows["t"], rows["p"], average=average, zero_division=zero_division)
            assert got.loc[name, m] == pytest.approx(want), (name, m)


def test_macro_average_that_leaves_out_a_class_warns(source):
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1]); p = np.array([0, 1, 1, 0, 1, 1, 0, 1]) # class 2 is never predicted
    ev = mc.Evaluation.from_frame(source(pd.DataFrame({"t": y, "p": p})), y_true="t", y_pred="p")
    with pytest.warns(mc.UndefinedMetricWarning, match="leaving out classes whose value divides by zero.*precision_macro"):
        v = ev.metrics(["precision_macro", "recall_macro"], ci=None).to_frame()["value"]
    assert v["precision_macro"] == pytest.approx(precision_score_defined(y, p))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev.metrics(["recall_macro"], ci=None) # every class present is defined for recall: no warning
        ev.metrics(["precision_macro"], ci=None, zero_division=0)


def precision_score_defined(y, p):
    "Macro precision over the classes that were predicted."
    return precision_score(y, p, labels=np.unique(p), average="macro")


def outcome(fn):
    "('ok', value) or (exception type, message) of calling `fn` with warnings silenced."
    try: return "ok", quiet(fn)
    except Exception as e: return type(e).__name__, str(e)


def test_demand_is_regression_on_every_engine(source):
    d = mc.datasets.make_demand()
    ev = mc.Evaluation.from_frame(source(d), y_true="demand", y_pred="forecast")
    assert ev.task == "regression"
    want = mc.Evaluation.from_frame(d, y_true="demand", y_pred="forecast").metrics(["mae"], ci=None).to_frame()
    pd.testing.assert_frame_equal(ev.metrics(["mae"], ci=None).to_frame(), want)


TARGETS = {
    "strings and ints": (["a", "b", "a", "b"], [0, 1, 1, 0]),
    "ints and strings": ([0, 1, 1, 0], ["a", "b", "a", "b"]),
    "bools and ints": ([True, False, True, False], [1, 0, 0, 0]),
    "whole floats and fractions": ([1.0, 2.0, 3.0, 1.0], [1.5, 2.0, 2.5, 1.0]),
    "strings and fractions": (["a", "b", "a", "b"], [0.5, 0.1, 0.2, 0.9]),
    "few whole floats": ([1.0, 2.0, 1.0, 2.0], [1.0, 1.0, 2.0, 2.0]),
    "many whole floats": (list(map(float, range(30))), list(map(float, range(1, 31)))),
}


@pytest.mark.parametrize("case", TARGETS)
def test_task_inference_is_one_rule(source, case):
    t, p = TARGETS[case]
    d = pd.DataFrame({"t": t, "p": p})
    want = outcome(lambda: mc.Evaluation.from_frame(d, y_true="t", y_pred="p").task)
    got = outcome(lambda: mc.Evaluation.from_frame(source(d), y_true="t", y_pred="p").task)
    assert got == want
    if case.startswith("strings and"): assert want[0] == "ValueError" and "Mix of target types" in want[1]


def scored(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1).round(4)
    return pd.DataFrame({"y": y, "pred": (s > 0.5).astype(int), "score": s, "g": rng.choice(list("abc"), n),
                         "w": rng.uniform(0.5, 2, n).round(3)})


@pytest.mark.parametrize("weighted", [False, True])
def test_an_interval_depends_only_on_its_metric(source, weighted):
    d = scored()
    kw = dict(y_true="y", y_pred="pred", y_score="score", features=["g"], sample_weight="w" if weighted else None)
    ev = mc.Evaluation.from_frame(source(d), **kw)
    alone = ev.slices(by="g", metrics=["f1", "balanced_accuracy"]).to_frame()
    more = ev.slices(by="g", metrics=["f1", "roc_auc", "balanced_accuracy", "log_loss"]).to_frame()
    cols = ["f1_ci_low", "f1_ci_high", "balanced_accuracy_ci_low", "balanced_accuracy_ci_high"]
    pd.testing.assert_frame_equal(alone[cols], more[cols])
    memory = mc.Evaluation.from_frame(d, **kw).slices(by="g", metrics=["f1", "balanced_accuracy"]).to_frame()
    pd.testing.assert_frame_equal(alone[cols], memory[cols]) # the same Poisson draws of the same cells on every engine
    if source.engine == "pandas":
        ov = ev.metrics(["roc_auc", "log_loss"]).to_frame()
        pd.testing.assert_frame_equal(ov.loc[["roc_auc"]], ev.metrics(["roc_auc"]).to_frame())


def raises_on_every_engine(source, exc, match, make):
    with pytest.raises(exc, match=match): quiet(make, source)


@pytest.mark.parametrize("col", ["y", "p"])
def test_infinite_regression_targets_are_refused(source, col):
    d = pd.DataFrame({"y": [1.5, 2.5, 3.25, 4.0], "p": [1.0, 2.0, 3.5, 4.5]})
    d.loc[2, col] = -np.inf
    arg = {"y": "y_true", "p": "y_pred"}[col]
    pos = "2" if source.engine == "pandas" else re.escape("(not located")
    with pytest.raises(ValueError, match=rf"{arg} contains 1 infinite value\(s\), first at position\(s\) {pos}"):
        mc.Evaluation.from_frame(source(d), y_true="y", y_pred="p")


@pytest.mark.parametrize("bins", [3, [0, 2]])
def test_infinite_numeric_features_are_refused(source, bins):
    d = pd.DataFrame({"y": [0, 1] * 5, "p": [0, 1, 1, 0, 0] * 2, "x": [1.0, 2, 3, 4, 5, 6, np.inf, 8, 9, 10]})
    ev = mc.Evaluation.from_frame(source(d), y_true="y", y_pred="p")
    with pytest.raises(ValueError, match=r"data column 'x' contains 1 infinite value\(s\)"):
        ev.slices(by="x", bins=bins)


@pytest.mark.parametrize("bins", [[], "5", 2.5, [np.nan, 0], 0, -1, True, [[0, 1]]])
def test_bad_bins_are_named(source, bins):
    d = pd.DataFrame({"y": [0, 1] * 5, "p": [0, 1, 1, 0, 0] * 2, "x": np.arange(10.0)})
    ev = mc.Evaluation.from_frame(source(d), y_true="y", y_pred="p")
    with pytest.raises(ValueError, match=re.escape(f"bins={bins!r} must be a positive number of bins or a non-empty list of finite edges")):
        ev.slices(by="x", bins=bins)


def test_columns_that_would_clash_in_the_slice_table_are_refused(source):
    d = pd.DataFrame({"y": [0, 1] * 5, "p": [0, 1, 1, 0, 0] * 2, "accuracy_support": list("ab") * 5, "_n_eff": list("xyz") * 3 + ["x"]})
    ev = mc.Evaluation.from_frame(source(d), y_true="y", y_pred="p")
    with pytest.raises(ValueError, match="metric name 'accuracy' collides with the by column 'accuracy_support'"):
        ev.slices(by="accuracy_support", metrics=["accuracy"])
    t = quiet(ev.slices, by="_n_eff", metrics=["accuracy"]).to_frame()
    assert t["_n_eff"].tolist() == ["x", "y", "z"] and "too_small" in t


@pytest.mark.parametrize("value", ["(missing)", "(other)"])
def test_a_real_value_that_reads_like_missing_is_refused(source, value):
    d = pd.DataFrame({"y": [0, 1] * 6, "p": [0, 1, 1, 0] * 3, "g": [value, None, "a"] * 4})
    ev = mc.Evaluation.from_frame(source(d), y_true="y", y_pred="p")
    with pytest.raises(ValueError, match=re.escape(f"data column 'g' holds the value {value!r}")):
        ev.slices(by="g")


def test_with_tags_never_replaces_a_data_column(tmp_path):
    ev = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], data={"noise": [1, 2, 3, 4], "tags": list("abcd")})
    store = tmp_path / "tags.jsonl"
    tagger = mc.ErrorTagger(ev, store=store)
    tagger.tag(2, "noise")
    with pytest.raises(ValueError, match=re.escape("with_tags would replace the data column(s) ['noise', 'tags']")):
        ev.with_tags(store, prefix="")
    ev2 = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], data={"noise": [1, 2, 3, 4]})
    view = ev2.with_tags(store)
    again = view.with_tags(store) # the columns of an earlier with_tags are replaced, not refused
    assert list(again.data.columns) == ["noise", "tag: noise", "tags", "tagged"]


def binary_and_multiclass_scores(seed=0, n=600):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n); s = np.clip(y * .5 + rng.random(n) * .5, 0, 1).round(4)
    yk = rng.integers(0, 3, n); P = rng.dirichlet([1, 1, 1], n); P[np.arange(n), yk] += 1; P = (P / P.sum(1, keepdims=True))
    P[:, 2] = 1 - P[:, 0] - P[:, 1]
    return (pd.DataFrame({"y": y, "p": (s > .5).astype(int), "s": s}),
            pd.DataFrame({"y": yk, "p": P.argmax(1), "a": P[:, 0], "b": P[:, 1], "c": P[:, 2]}))


@pytest.mark.parametrize("float_labels", [False, True])
def test_scores_that_contradict_the_predictions_warn(source, float_labels):
    binary, multi = binary_and_multiclass_scores()
    if float_labels: binary, multi = binary.astype({"y": float, "p": float}), multi.astype({"y": float, "p": float})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.Evaluation.from_frame(source(binary), y_true="y", y_pred="p", y_score="s")
        mc.Evaluation.from_frame(source(multi), y_true="y", y_pred="p", y_score=["a", "b", "c"])
    with pytest.warns(UserWarning, match=r"y_score contradicts y_pred: the label with the highest score is the predicted label on 0% of the examples"):
        mc.Evaluation.from_frame(source(binary.assign(s=1 - binary["s"])), y_true="y", y_pred="p", y_score="s")
    with pytest.warns(UserWarning, match=r"the label with the highest score is the predicted label on 0% of the examples, where scores unrelated"):
        mc.Evaluation.from_frame(source(multi), y_true="y", y_pred="p", y_score=["b", "c", "a"])


def test_weighted_compare_marks_the_same_slices_too_small(source):
    rng = np.random.default_rng(4)
    n = 400
    d = pd.DataFrame({"y": rng.integers(0, 2, n), "g": rng.choice(list("ab"), n), "w": np.r_[np.full(n - 1, 1e-6), 1.0]})
    d["p"] = np.where(rng.random(n) < .8, d["y"], 1 - d["y"])
    kw = dict(y_true="y", y_pred="p", features=["g"], sample_weight="w")
    want = quiet(mc.Evaluation.from_frame(d, **kw).compare, [mc.HumanLevel(0.9)], by="g").to_frame()
    got = quiet(mc.Evaluation.from_frame(source(d), **kw).compare, [mc.HumanLevel(0.9)], by="g").to_frame()
    assert want["too_small"].iloc[0] and want["too_small"].sum() == 2 # overall and the heavy row's slice: an effective n near 1
    assert got["too_small"].tolist() == want["too_small"].tolist()


def test_ranks_tie_whether_stated_in_accuracy_or_in_error_rate():
    from test_baselines import speech_eval
    ev = speech_eval()
    acc = {"clean speech": .95, "car noise": .93, "people noise": .89, "low bandwidth": .70}
    by_acc = mc.compare(ev, [mc.HumanLevel(per_slice=acc)], by="audio", metric="accuracy").to_frame().set_index("audio")
    err = mc.HumanLevel(per_slice={k: 1 - v for k, v in acc.items()})
    by_err = mc.compare(ev, [err], by="audio", metric="error_rate").to_frame().set_index("audio")
    assert by_err["rank"].dropna().astype(int).to_dict() == by_acc["rank"].dropna().astype(int).to_dict() == \
        {"clean speech": 1, "people noise": 1, "car noise": 3, "low bandwidth": 4}


def test_a_gap_of_exactly_the_tolerance_is_met_in_either_statement():
    kw = dict(tolerance=0.01)
    as_acc = mc.milestones(train=0.95, dev=0.94, human=0.96, metric="accuracy", **kw)
    as_err = mc.milestones(train=1 - 0.95, dev=1 - 0.94, human=1 - 0.96, metric="error_rate", **kw)
    assert as_acc.milestones == as_err.milestones
    assert as_acc.milestones["training set"] and as_acc.milestones["dev set"] # both gaps are exactly 0.01
    assert as_acc.focus == as_err.focus == "done"


def test_large_sets_get_intervals_that_do_not_grow_with_the_rows(monkeypatch):
    from mlcompass import metrics as M
    from sklearn.metrics import roc_auc_score, log_loss
    d = scored(n=20_000, seed=2)
    ev = mc.Evaluation(d["y"], d["pred"], y_score=d["score"], data=d[["g"]])
    small = ev.slices(by="g", metrics=["roc_auc", "log_loss"], n_boot=400).to_frame()
    monkeypatch.setattr(M, "ROW_BOOTSTRAP_MAX", 1_000) # as if the set were large
    sf = ev.slices(by="g", metrics=["roc_auc", "log_loss"], n_boot=400)
    big = sf.to_frame()
    for g, rows in d.groupby("g"): # the figures stay exact
        r = big.set_index("g").loc[g]
        assert r["roc_auc"] == pytest.approx(roc_auc_score(rows["y"], rows["score"]))
        assert r["log_loss"] == pytest.approx(log_loss(rows["y"], rows["score"]))
    for m in ("roc_auc", "log_loss"): # intervals of the row bootstrap's width, around the exact figure
        ratio = (big[m + "_ci_high"] - big[m + "_ci_low"]) / (small[m + "_ci_high"] - small[m + "_ci_low"])
        assert ratio.between(0.75, 1.3).all(), (m, ratio.tolist())
        assert ((big[m + "_ci_low"] <= big[m]) & (big[m] <= big[m + "_ci_high"])).all()
    assert "roc_auc: Poisson draws of score histograms" in sf._repr_html_()
    assert "log_loss: Gaussian replicates" in sf._repr_html_()
    assert "Gaussian replicates" in ev.metrics(["log_loss"])._repr_html_()


def test_too_many_slices_are_refused_at_once(source):
    rng = np.random.default_rng(0)
    d = pd.DataFrame({f"c{j}": rng.integers(0, 30, 3000).astype(str) for j in range(12)})
    d["y"] = rng.integers(0, 2, 3000); d["p"] = rng.integers(0, 2, 3000)
    ev = mc.Evaluation.from_frame(source(d), y_true="y", y_pred="p")
    by = [f"c{j}" for j in range(12)]
    with pytest.raises(ValueError, match=r"12 column\(s\) at max_depth=3 make up to [\d,]+ slices, more than max_slices=100,000"):
        ev.slices(by=by, max_depth=3)
    with pytest.raises(ValueError, match=r"make up to 360 slices, more than max_slices=300 .* Narrow the question"):
        ev.compare([mc.HumanLevel(.9)], by=by, max_depth=1, max_slices=300)
    assert len(quiet(ev.slices, by=by[:2], max_depth=2, max_slices=1000, ci=None)) <= 1000


def test_group_ids_name_their_table_on_an_engine():
    from mlcompass.metrics import evaluate_groups, resolve_metrics
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"y": rng.integers(0, 2, 500), "p": rng.integers(0, 2, 500), "a": rng.choice(list("xy"), 500), "b": rng.choice(list("uv"), 500)})
    ev = mc.Evaluation.from_frame(pl.from_pandas(d), y_true="y", y_pred="p")
    fa = ev.encode_features(["a"])
    ev.encode_features(["b"]) # an unrelated call in between changes nothing
    ms = resolve_metrics(ev, ["accuracy"])
    got = evaluate_groups(ev, fa[0].codes, fa[0].card, ms, ci=None, table=fa[0].table)["values"]["accuracy"]
    want = d.assign(ok=d.y == d.p).groupby("a")["ok"].mean().to_numpy()
    np.testing.assert_allclose(got, want)
    with pytest.raises(ValueError, match="needs table="):
        evaluate_groups(ev, fa[0].codes, fa[0].card, ms, ci=None)
