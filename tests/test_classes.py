"""Parity of `ev.classes()`, `ev.curves()`, `ev.thresholds()`, `ev.choose_threshold()` and `ev.for_class()` with
scikit-learn on the same inputs.

Reference conventions (as in test_parity.py):

* undefined figures (0/0) are NaN in mlcompass; the scikit-learn reference is `zero_division=np.nan`;
* `confusion(normalize=...)` maps an empty row/column to 0, as scikit-learn's `confusion_matrix(normalize=...)`;
* thresholds: positive when score >= threshold, so the reference is scikit-learn on the 0/1 vector `score >= t`.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from sklearn import metrics as skm

import mlcompass as mc
from _issue4_helpers import (assert_same, binary_figures, binary_score_cases, label_cases, multiclass_score_cases, quiet,
                             same, weights)

pytestmark = [pytest.mark.filterwarnings("ignore:y_pred contains label:UserWarning"),
              pytest.mark.filterwarnings("ignore::mlcompass.UndefinedMetricWarning")]

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FAST = dict(ci=None, n_boot=0)


def class_masks(ev):
    "(label, boolean mask of y_true == label, of y_pred == label) for every label of the evaluation."
    for i, c in enumerate(ev.labels.tolist()):
        yield c, ev.t == i, ev.p == i


# --------------------------------------------------------------------------- 1. per-class figures
@SETTINGS
@given(case=label_cases())
def test_per_class_figures_equal_sklearn(case):
    ev = mc.Evaluation(**case)
    rep = ev.classes(ci=0.95, n_boot=0)
    f = rep.to_frame()
    labels, w = ev.labels.tolist(), ev.w
    assert f.index.tolist() == labels
    yt, yp = ev.y_true, ev.y_pred
    p, r, f1, sup = quiet(skm.precision_recall_fscore_support, yt, yp, labels=labels, zero_division=np.nan,
                          sample_weight=w)
    assert_same(f["precision"], p, "precision")
    assert_same(f["recall"], r, "recall")
    assert_same(f["f1"], f1, "f1")
    # support: counts, or the weight of the class's examples when weighted
    want_support = [np.sum(np.where(ev.t == i, 1.0 if w is None else w, 0.0)) for i in range(ev.k)]
    assert_same(f["support"], want_support, "support")
    assert_same(f["support"], sup, "support (sklearn)")  # scikit-learn's support is weighted too
    pred_w = [np.sum(np.where(ev.p == i, 1.0 if w is None else w, 0.0)) for i in range(ev.k)]
    assert_same(f["predicted"], pred_w, "predicted")
    total = len(yt) if w is None else w.sum()
    assert_same(f["share"], np.array(want_support) / total, "share")
    # specificity of c = recall of "not c" (one-vs-rest)
    spec = np.array([quiet(skm.recall_score, (~tm).astype(int), (~pm).astype(int), zero_division=np.nan, sample_weight=w)
                     for _, tm, pm in class_masks(ev)])
    assert_same(f["specificity"], spec, "specificity")
    if np.isnan(f["specificity"]).any(): event("some specificity undefined")
    if np.isnan(f["precision"]).any(): event("some precision undefined")
    # averages: classification_report's macro / weighted; micro = accuracy
    cr = quiet(skm.classification_report, yt, yp, labels=labels, output_dict=True, zero_division=np.nan,
               sample_weight=w)
    for avg in ("macro avg", "weighted avg"):
        for m, key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert same(rep.averages.loc[avg, m], cr[avg][key]), (avg, m, rep.averages.loc[avg, m], cr[avg][key])
    acc = skm.accuracy_score(yt, yp, sample_weight=w)
    for m in ("precision", "recall", "f1"):
        assert same(rep.averages.loc["micro avg", m], acc), (m, rep.averages.loc["micro avg", m], acc)
    assert same(rep.averages.loc["macro avg", "support"], f["support"].sum())
    assert same(rep.accuracy, acc)
    # Wilson intervals contain the value (and are NaN exactly when it is)
    for m in ("precision", "recall", "specificity"):
        v, lo, hi = (f[m].to_numpy(float), f[m + "_ci_low"].to_numpy(float), f[m + "_ci_high"].to_numpy(float))
        ok = ~np.isnan(v)
        assert np.all(np.isnan(lo[~ok]) & np.isnan(hi[~ok])), (m, v, lo, hi)
        okk = ok & ~np.isnan(lo)  # a class whose examples all weigh 0 has no interval
        assert np.all(lo[okk] <= v[okk] + 1e-12) and np.all(v[okk] <= hi[okk] + 1e-12), (m, v, lo, hi)
        assert np.all((lo[okk] >= 0) & (hi[okk] <= 1)), (m, lo, hi)


def test_specificity_undefined_when_every_example_weighs_in_one_class():
    "Regression: TN summed cell by cell; n - TP - FP - FN left a float residue (4.4e-16 / 4.4e-16 = 1.0 instead of NaN)."
    yt = [1] * 8
    yp = [1, 2, 0, 1, 1, 2, 1, 0]
    w = [0.7, 0.2, 0.2, 1 / 3, 1 / 3, 0.1, 0.3, 0.2]
    f = mc.Evaluation(yt, yp, sample_weight=w, labels=[0, 1, 2]).classes(**FAST).to_frame()
    # scikit-learn: the recall of "not 1" has no example of "not 1": undefined
    want = skm.recall_score([0] * 8, [int(p != 1) for p in yp], zero_division=np.nan, sample_weight=w)
    assert np.isnan(want)
    assert same(f.loc[1, "specificity"], want), f.loc[1, "specificity"]


def test_specificity_undefined_without_weights():
    "The same case unweighted (integer counts: no residue) is NaN, as scikit-learn."
    f = mc.Evaluation([1] * 8, [1, 2, 0, 1, 1, 2, 1, 0], labels=[0, 1, 2]).classes(**FAST).to_frame()
    assert np.isnan(f.loc[1, "specificity"])


def test_per_class_figures_weighted_multiclass_example():
    "A deterministic weighted multiclass case with a label absent from the data, against classification_report."
    rng = np.random.default_rng(7)
    yt = rng.choice(["cat", "dog", "fox"], 300, p=[.6, .35, .05])
    yp = np.where(rng.random(300) < .3, rng.choice(["cat", "dog", "fox"], 300), yt)
    w = rng.uniform(0.1, 3, 300)
    ev = mc.Evaluation(yt, yp, sample_weight=w, labels=["fox", "cat", "dog", "emu"])
    rep = ev.classes()
    f = rep.to_frame()
    cr = quiet(skm.classification_report, yt, yp, labels=ev.labels.tolist(), output_dict=True, zero_division=np.nan,
               sample_weight=w)
    for c in ["fox", "cat", "dog", "emu"]:
        assert same(f.loc[c, "precision"], cr[c]["precision"]) and same(f.loc[c, "recall"], cr[c]["recall"])
        assert same(f.loc[c, "f1"], cr[c]["f1-score"]) and same(f.loc[c, "support"], cr[c]["support"])
    assert np.isnan(f.loc["emu", ["precision", "recall", "f1"]].astype(float)).all()
    assert same(rep.averages.loc["weighted avg", "f1"], cr["weighted avg"]["f1-score"])
    assert same(rep.averages.loc["macro avg", "recall"], cr["macro avg"]["recall"])
    assert same(rep.averages.loc["micro avg", "precision"], cr["accuracy"])


# --------------------------------------------------------------------------- 2. confusion matrix
@SETTINGS
@given(case=label_cases())
def test_confusion_equals_sklearn(case):
    ev = mc.Evaluation(**case)
    rep = ev.classes(**FAST)
    for norm in (None, "true", "pred", "all"):
        cm = rep.confusion(norm)
        want = quiet(skm.confusion_matrix, ev.y_true, ev.y_pred, labels=ev.labels.tolist(), normalize=norm,
                     sample_weight=ev.w)
        assert cm.index.tolist() == cm.columns.tolist() == ev.labels.tolist()
        assert_same(cm.to_numpy(), want, f"normalize={norm}")
    with pytest.raises(ValueError, match="normalize='rows' must be None"):
        rep.confusion("rows")


# --------------------------------------------------------------------------- 3. top confusions
@SETTINGS
@given(case=label_cases(binary=False), k=st.integers(1, 40))
def test_top_confusions(case, k):
    ev = mc.Evaluation(**case)
    rep = ev.classes(**FAST)
    labels = ev.labels.tolist()
    cm = quiet(skm.confusion_matrix, ev.y_true, ev.y_pred, labels=labels, sample_weight=ev.w)
    off = {(labels[i], labels[j]): cm[i, j] for i in range(len(labels)) for j in range(len(labels))
           if i != j and cm[i, j] > 0}
    errors = cm.sum() - np.trace(cm)
    for by, key in (("count", "count"), ("share", "share_of_true")):
        top = rep.top_confusions(k, by=by)
        assert len(top) == min(k, len(off))
        everything = rep.top_confusions(10 ** 6, by=by)
        assert len(everything) == len(off)
        assert {(t, p): c for t, p, c in everything[["true", "predicted", "count"]].itertuples(index=False)} == \
            pytest.approx(off, rel=1e-12)
        for _, r in everything.iterrows():
            i = labels.index(r["true"])
            assert same(r["share_of_true"], r["count"] / cm[i].sum())
            assert same(r["share_of_errors"], r["count"] / errors)
        # ordering: by the key, descending, ties by count descending
        keys = list(zip(everything[key], everything["count"]))
        assert keys == sorted(keys, reverse=True)
        pd.testing.assert_frame_equal(top, everything.head(k))
    with pytest.raises(ValueError, match="by='size' must be 'count' or 'share'"):
        rep.top_confusions(3, by="size")


def test_top_confusions_example():
    yt = ["a"] * 10 + ["b"] * 4 + ["c"] * 6
    yp = ["a"] * 7 + ["b"] * 3 + ["a"] * 2 + ["b"] * 2 + ["c", "c", "a", "a", "a", "b"]
    rep = mc.Evaluation(yt, yp).classes(**FAST)
    top = rep.top_confusions(10)
    assert top[["true", "predicted", "count"]].values.tolist() == [["a", "b", 3], ["c", "a", 3], ["b", "a", 2], ["c", "b", 1]]
    assert same(top.loc[1, "share_of_true"], 3 / 6) and same(top.loc[0, "share_of_errors"], 3 / 9)
    share = rep.top_confusions(2, by="share")
    assert share[["true", "predicted"]].values.tolist() == [["c", "a"], ["b", "a"]]  # 3/6 = 2/4: ties by count
    assert share["share_of_true"].tolist() == [0.5, 0.5]
    share = rep.top_confusions(10, by="share")
    assert share["share_of_true"].tolist()[:3] == [0.5, 0.5, 0.3]


# --------------------------------------------------------------------------- 4. accuracy paradox and rare classes
def test_accuracy_paradox_on_make_rare():
    df = mc.datasets.make_rare()
    assert df["fraud"].mean() == pytest.approx(0.005, abs=0.001)
    ev = mc.Evaluation.from_frame(df, y_true="fraud", y_pred="flagged", y_score="score", pos_label=1)
    rep = ev.classes(n_boot=0)
    assert rep.paradox
    assert rep.majority_label == 0 and same(rep.majority, 1 - df["fraud"].mean())
    assert same(rep.accuracy, skm.accuracy_score(df["fraud"], df["flagged"]))
    assert rep.rare_classes == [1]
    assert "Accuracy paradox" in rep.summary() and "Rare classes" in rep.summary()
    assert "Accuracy paradox" in rep._repr_html_()


def test_no_paradox_on_a_balanced_problem():
    rng = np.random.default_rng(0)
    yt = rng.integers(0, 2, 2000)
    yp = np.where(rng.random(2000) < 0.1, 1 - yt, yt)  # 90% accurate, majority ~50%
    rep = mc.Evaluation(yt, yp).classes(n_boot=0)
    assert not rep.paradox and rep.rare_classes == []
    assert rep.summary() == "No rare class, and accuracy is well above a majority-class predictor's."
    # the margin: accuracy - majority < paradox_margin is the paradox
    gap = rep.accuracy - rep.majority
    assert mc.Evaluation(yt, yp).classes(paradox_margin=gap + 1e-9, **FAST).paradox
    assert not mc.Evaluation(yt, yp).classes(paradox_margin=gap - 1e-9, **FAST).paradox


def test_rare_flags_by_support_and_share():
    # a: 900, b: 70 (share 0.07), c: 30 (share 0.03)
    yt = np.array(["a"] * 900 + ["b"] * 70 + ["c"] * 30)
    ev = mc.Evaluation(yt, yt)
    f = ev.classes(**FAST).to_frame()
    assert f["rare"].tolist() == [False, False, True]  # c: share 0.03 < 0.05
    assert ev.classes(min_support=71, **FAST).rare_classes == ["b", "c"]  # b: support 70 < 71
    assert ev.classes(min_support=30, rare_share=0.0, **FAST).rare_classes == []  # support 30 is not < 30
    assert ev.classes(min_support=31, rare_share=0.0, **FAST).rare_classes == ["c"]
    assert ev.classes(min_support=0, rare_share=0.08, **FAST).rare_classes == ["b", "c"]
    # weighted: support and share are weights
    w = np.r_[np.full(900, 0.01), np.ones(100)]
    f = mc.Evaluation(yt, yt, sample_weight=w).classes(**FAST).to_frame()
    assert same(f.loc["a", "support"], 9.0) and same(f.loc["a", "share"], 9 / 109)
    assert f["rare"].tolist() == [True, False, False]  # supports 9, 70, 30 (not < 30); shares .08, .64, .28


def test_undefined_metric_warning_names_the_class():
    yt = ["cat"] * 5 + ["dog"] * 5 + ["fox"] * 2
    yp = ["cat"] * 5 + ["dog"] * 4 + ["cat"] + ["dog", "cat"]  # fox is never predicted
    ev = mc.Evaluation(yt, yp)
    with pytest.warns(mc.UndefinedMetricWarning, match=r"precision for \['fox'\]"):
        f = ev.classes(**FAST).to_frame()
    # precision 0/0 is undefined; recall 0/2 and F1 = 2tp / (2tp + fp + fn) = 0/2 are 0, as in scikit-learn
    assert np.isnan(f.loc["fox", "precision"]) and f.loc["fox", "f1"] == 0 and f.loc["fox", "recall"] == 0
    ev2 = mc.Evaluation(yt, yp, labels=["cat", "dog", "fox", "emu"])  # emu: no example, no prediction
    with pytest.warns(mc.UndefinedMetricWarning, match=r"precision for \['fox', 'emu'\]; recall for \['emu'\]"):
        ev2.classes(**FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = ev.classes(zero_division=np.nan, **FAST).to_frame()  # np.nan: silent, same figures
        pd.testing.assert_frame_equal(g, f)
        assert ev.classes(zero_division=0, **FAST).to_frame().loc["fox", "precision"] == 0


def test_classes_refuses_regression():
    with pytest.raises(ValueError, match="needs a classification task"):
        mc.Evaluation([1.5, 2.5, 3.5], [1.0, 2.0, 3.0]).classes()


# --------------------------------------------------------------------------- 5. curves
def check_curves(ev, classes):
    labels = ev.labels.tolist()
    pr, roc = quiet(ev.curves, "pr", classes=classes), quiet(ev.curves, "roc", classes=classes)
    prf, rocf = pr.to_frame(), roc.to_frame()
    assert list(pr.areas.index) == list(classes) == list(roc.areas.index)
    for c in classes:
        i = labels.index(c)
        y, s = (ev.t == i).astype(int), ev.proba[:, i]
        p, r, t = quiet(skm.precision_recall_curve, y, s, sample_weight=ev.w)
        g = prf[prf["class"] == c]
        assert_same(g["precision"], p, f"pr precision {c}")
        assert_same(g["recall"], r, f"pr recall {c}")
        assert_same(g["threshold"], np.append(t, np.nan), f"pr threshold {c}")
        assert same(pr.areas[c], quiet(skm.average_precision_score, y, s, sample_weight=ev.w))
        fpr, tpr, t = quiet(skm.roc_curve, y, s, sample_weight=ev.w)
        g = rocf[rocf["class"] == c]
        assert_same(g["fpr"], fpr, f"roc fpr {c}")
        assert_same(g["tpr"], tpr, f"roc tpr {c}")
        assert_same(g["threshold"], t, f"roc threshold {c}")
        assert same(roc.areas[c], quiet(skm.roc_auc_score, y, s, sample_weight=ev.w))


@SETTINGS
@given(case=binary_score_cases(min_n=2))
def test_binary_curves_equal_sklearn(case):
    ev = mc.Evaluation(**case)
    y = ev.t == ev.pos_index
    if y.all() or not y.any():
        with pytest.raises(ValueError, match="examples: its curve is undefined"):
            quiet(ev.curves, "pr")
        return
    check_curves(ev, [ev.pos_label])
    # the default: the positive class only, and its score column is y_score itself
    assert quiet(ev.curves, "roc").areas.index.tolist() == [ev.pos_label]
    assert_same(ev.proba[:, ev.pos_index], case["y_score"], "score column")


@SETTINGS
@given(case=multiclass_score_cases())
def test_multiclass_curves_equal_sklearn(case):
    ev = mc.Evaluation(**case)
    labels = ev.labels.tolist()
    ok = [c for i, c in enumerate(labels) if 0 < (ev.t == i).sum() < ev.n]
    if len(ok) < len(labels):
        with pytest.raises(ValueError, match="its curve is undefined"):
            quiet(ev.curves, "roc")
    else:
        assert quiet(ev.curves, "pr").areas.index.tolist() == labels
    if ok: check_curves(ev, ok)


def test_curves_bad_input():
    ev = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], y_score=[.1, .9, .4, .3])
    with pytest.raises(ValueError, match="kind='lift' must be 'pr' or 'roc'"): ev.curves("lift")
    with pytest.raises(ValueError, match="class 7 is not one of the labels"): ev.curves("pr", classes=[7])
    with pytest.raises(ValueError, match="needs probability scores"): mc.Evaluation([0, 1], [0, 1]).curves()


# --------------------------------------------------------------------------- 6. thresholds
def pos_view(ev, pos_label=None):
    i = ev.pos_index if pos_label is None else ev.labels.tolist().index(pos_label)
    return (ev.t == i), ev.proba[:, i]


def check_sweep(tab, y, s, w, cost=None):
    n = len(y) if w is None else w.sum()
    for _, row in tab.iterrows():
        pred = s >= row["threshold"]
        want = binary_figures(y, pred, w)
        want["fpr"] = np.nan if want["fp"] + want["tn"] == 0 else want["fp"] / (want["fp"] + want["tn"])
        want["fnr"] = np.nan if want["fn"] + want["tp"] == 0 else want["fn"] / (want["fn"] + want["tp"])
        for m in ("tp", "fp", "fn", "tn", "precision", "recall", "f1", "specificity", "selection_rate", "fpr", "fnr"):
            if m in ("fpr", "fnr") and m not in tab.columns: continue
            assert same(row[m], want[m]), (row["threshold"], m, row[m], want[m])
        if cost is not None:
            c = {k: cost.get(k, 0.0) for k in ("tp", "fp", "fn", "tn")}
            want_cost = sum(c[k] * want[k] for k in c) / n
            assert same(row["cost"], want_cost), (row["threshold"], row["cost"], want_cost)
        else:
            assert "cost" not in tab.columns


@SETTINGS
@given(case=binary_score_cases(), how=st.sampled_from(["unique", "int", "array"]),
       cost=st.sampled_from([None, {"fp": 1, "fn": 10}, {"fp": 2.5, "fn": 0.5, "tp": -1}]), data=st.data())
def test_thresholds_equal_sklearn(case, how, cost, data):
    ev = mc.Evaluation(**case)
    y, s = pos_view(ev)
    if how == "unique": thr = "unique"
    elif how == "int": thr = data.draw(st.integers(1, 30))
    else:  # the scores themselves (ties), plus values between and outside them
        thr = np.array(data.draw(st.lists(st.one_of(st.sampled_from(sorted(set(s.tolist()))), st.floats(-0.5, 1.5)),
                                          min_size=1, max_size=15)))
    tab = ev.thresholds(thr, cost=cost)
    if how == "unique": assert_same(tab["threshold"], np.unique(s)[::-1], "unique thresholds")
    elif how == "int": assert_same(tab["threshold"], np.linspace(0, 1, thr), "linspace thresholds")
    else: assert_same(tab["threshold"], thr, "given thresholds")
    if len(np.unique(s)) < len(s): event("tied scores")
    check_sweep(tab, y, s, ev.w, cost)


@settings(SETTINGS, max_examples=30)
@given(case=multiclass_score_cases(), data=st.data())
def test_thresholds_multiclass_one_vs_rest(case, data):
    ev = mc.Evaluation(**case)
    pos = data.draw(st.sampled_from(ev.labels.tolist()))
    with pytest.raises(ValueError, match="pos_label is needed for a multiclass threshold sweep"):
        ev.thresholds()
    y, s = pos_view(ev, pos)
    cost = {"fp": 1, "fn": 3}
    check_sweep(ev.thresholds("unique", pos_label=pos, cost=cost), y, s, ev.w, cost)


def test_thresholds_bad_input():
    ev = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], y_score=[.1, .9, .4, .3])
    with pytest.raises(ValueError, match="thresholds='all' must be an int"): ev.thresholds("all")
    with pytest.raises(ValueError, match="cost=.* must be a dict with keys among"): ev.thresholds(cost={"false": 1})
    with pytest.raises(ValueError, match="needs probability scores"): mc.Evaluation([0, 1], [0, 1]).thresholds()


# --------------------------------------------------------------------------- 7. choose_threshold
def distinct_figures(y, s, w, cost=None):
    "scikit-learn's figures at every distinct score used as threshold (descending)."
    out = []
    n = len(y) if w is None else w.sum()
    for u in np.unique(s)[::-1]:
        f = binary_figures(y, s >= u, w)
        f["threshold"] = u
        if cost: f["cost"] = (cost.get("fp", 0) * f["fp"] + cost.get("fn", 0) * f["fn"]) / n
        out.append(f)
    return pd.DataFrame(out)


def check_figures_at(choice, y, s, w):
    want = binary_figures(y, s >= choice.threshold, w)
    f = choice.to_frame()
    for m in ("precision", "recall", "f1", "specificity", "selection_rate", "accuracy"):
        assert same(f.loc[m, "value"], want[m]), (m, f.loc[m, "value"], want[m])
        lo, hi, v = f.loc[m, "ci_low"], f.loc[m, "ci_high"], f.loc[m, "value"]
        if not np.isnan(v) and not np.isnan(lo): assert lo - 1e-12 <= v <= hi + 1e-12, (m, lo, v, hi)


@SETTINGS
@given(case=binary_score_cases(), x=st.sampled_from([0.1, 0.5, 0.8, 0.9, 1.0]),
       cost=st.sampled_from([{"fp": 1, "fn": 10}, {"fp": 3, "fn": 1}]))
def test_choose_threshold_equals_sklearn(case, x, cost):
    ev = mc.Evaluation(**case)
    y, s = pos_view(ev)
    w = ev.w
    ref = distinct_figures(y, s, w, cost)
    # recall >= x: the highest threshold that keeps it (the next higher distinct score does not)
    ok = ref[ref["recall"] >= x]
    if ok.empty:
        with pytest.raises(ValueError, match="no threshold reaches recall >= "):
            ev.choose_threshold(target="recall", at_least=x)
    else:
        ch = ev.choose_threshold(target="recall", at_least=x)
        assert ch.threshold == ok["threshold"].max()
        assert binary_figures(y, s >= ch.threshold, w)["recall"] >= x
        higher = np.unique(s)[np.unique(s) > ch.threshold]
        if len(higher): assert not binary_figures(y, s >= higher.min(), w)["recall"] >= x
        check_figures_at(ch, y, s, w)
    # precision >= x: the lowest threshold that keeps it (every lower distinct score fails)
    ok = ref[ref["precision"] >= x]
    if not ok.empty:
        ch = ev.choose_threshold(target="precision", at_least=x)
        assert ch.threshold == ok["threshold"].min()
        assert not (ref.loc[ref["threshold"] < ch.threshold, "precision"] >= x).any()
    # maximise F1: the best F1 over all distinct thresholds
    if ref["f1"].isna().all():
        with pytest.raises(ValueError, match="f1 is undefined at every threshold"):
            ev.choose_threshold(maximize="f1")
    else:
        ch = ev.choose_threshold(maximize="f1")
        assert same(ch.to_frame().loc["f1", "value"], ref["f1"].max())
        check_figures_at(ch, y, s, w)
    # minimise cost
    ch = ev.choose_threshold(minimize="cost", cost=cost)
    assert same(ch.to_frame().loc["cost", "value"], ref["cost"].min())
    assert same(ch.row["cost"], (cost["fp"] * binary_figures(y, s >= ch.threshold, w)["fp"]
                                 + cost["fn"] * binary_figures(y, s >= ch.threshold, w)["fn"]) / (len(y) if w is None else w.sum()))
    check_figures_at(ch, y, s, w)
    # at_most on a falling quantity: the lowest threshold whose selection rate is at most x
    ok = ref[ref["selection_rate"] <= x]
    if not ok.empty:
        assert ev.choose_threshold(target="selection_rate", at_most=x).threshold == ok["threshold"].min()


def test_choose_threshold_on_make_rare():
    df = mc.datasets.make_rare()
    ev = mc.Evaluation.from_frame(df, y_true="fraud", y_pred="flagged", y_score="score", pos_label=1)
    y, s = df["fraud"].to_numpy() == 1, df["score"].to_numpy()
    ch = ev.choose_threshold(target="recall", at_least=0.9)
    assert skm.recall_score(y, s >= ch.threshold) >= 0.9
    higher = np.unique(s)[np.unique(s) > ch.threshold]
    assert skm.recall_score(y, s >= higher.min()) < 0.9
    check_figures_at(ch, y, s, None)
    sweep = ev.thresholds("unique", cost={"fp": 1, "fn": 20})
    best = ev.choose_threshold(maximize="f1")
    assert same(best.to_frame().loc["f1", "value"], sweep["f1"].max())
    p, r, t = skm.precision_recall_curve(y, s)  # precision and recall at every distinct score
    with np.errstate(invalid="ignore"): f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    assert same(best.to_frame().loc["f1", "value"], f1.max())
    assert same(best.threshold, t[np.argmax(f1[:-1])])
    cheap = ev.choose_threshold(minimize="cost", cost={"fp": 1, "fn": 20})
    assert same(cheap.to_frame().loc["cost", "value"], sweep["cost"].min())
    check_figures_at(cheap, y, s, None)


def test_choose_threshold_multiclass_figures_one_vs_rest():
    "Regression: every figure at the threshold is one-vs-rest, accuracy included (was the multiclass accuracy of label|other)."
    rng = np.random.default_rng(1)
    yt = rng.choice(["a", "b", "c"], 200)
    P = rng.dirichlet([1, 1, 1], 200)
    ev = mc.Evaluation(yt, np.array(["a", "b", "c"])[P.argmax(1)], y_score=P)
    ch = ev.choose_threshold(maximize="f1", pos_label="b")
    check_figures_at(ch, yt == "b", P[:, 1], None)


def test_choose_threshold_multiclass_rates_one_vs_rest():
    "The one-vs-rest rates (all but accuracy) at the chosen threshold of a multiclass task equal scikit-learn's."
    rng = np.random.default_rng(1)
    yt = rng.choice(["a", "b", "c"], 200)
    P = rng.dirichlet([1, 1, 1], 200)
    w = rng.uniform(0.5, 2, 200)
    ev = mc.Evaluation(yt, np.array(["a", "b", "c"])[P.argmax(1)], y_score=P, sample_weight=w)
    ch = ev.choose_threshold(target="recall", at_least=0.75, pos_label="c")
    y, s = yt == "c", P[:, 2]
    want = binary_figures(y, s >= ch.threshold, w)
    for m in ("precision", "recall", "f1", "specificity", "selection_rate"):
        assert same(ch.to_frame().loc[m, "value"], want[m]), m
    assert ch.pos_label == "c"


def tied_scores():
    "300 binary labels with scores rounded to 2 decimals (many ties), and their evaluation at 0.5."
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    s = np.round(np.clip(0.35 * y + rng.random(300) * 0.65, 0, 1), 2)
    return y, s, mc.Evaluation(y, (s >= .5).astype(int), y_score=s)


def test_choose_threshold_specificity_floor():
    "specificity >= x: the lowest threshold that keeps it (the most recall); equal to scikit-learn's ROC points."
    y, s, ev = tied_scores()
    fpr, tpr, t = skm.roc_curve(y, s)
    ch = ev.choose_threshold(target="specificity", at_least=0.8)
    assert ch.threshold == t[1:][(1 - fpr[1:]) >= 0.8].min()  # roc_curve: one point per distinct score (t[0] = inf)
    check_figures_at(ch, y == 1, s, None)


def test_choose_threshold_fpr_ceiling():
    "fpr <= x: the lowest threshold that keeps it (documented in the lesson; once refused as 'not a column of the sweep')."
    y, s, ev = tied_scores()
    ch = ev.choose_threshold(target="fpr", at_most=0.2)
    fpr, tpr, t = skm.roc_curve(y, s)
    assert ch.threshold == t[1:][fpr[1:] <= 0.2].min()


def test_choose_threshold_bad_input():
    ev = mc.Evaluation([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], y_score=[.1, .9, .4, .3, .8])
    with pytest.raises(ValueError, match="needs probability scores"):
        mc.Evaluation([0, 1], [0, 1]).choose_threshold(maximize="f1")
    P = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6]])
    with pytest.raises(ValueError, match="pos_label is needed for a multiclass threshold sweep"):
        mc.Evaluation([0, 1, 2], [0, 1, 2], y_score=P).choose_threshold(maximize="f1")
    with pytest.raises(ValueError, match=r"no threshold reaches precision >= 1.5; the best on this data is 1"):
        ev.choose_threshold(target="precision", at_least=1.5)
    with pytest.raises(ValueError, match="no threshold reaches selection_rate <= -0.1"):
        ev.choose_threshold(target="selection_rate", at_most=-0.1)
    with pytest.raises(ValueError, match="needs exactly one goal"):
        ev.choose_threshold(maximize="f1", minimize="cost", cost={"fp": 1})
    with pytest.raises(ValueError, match="needs exactly one goal"):
        ev.choose_threshold()
    with pytest.raises(ValueError, match="needs exactly one of at_least= or at_most="):
        ev.choose_threshold(target="recall", at_least=0.5, at_most=0.9)
    with pytest.raises(ValueError, match="needs exactly one of at_least= or at_most="):
        ev.choose_threshold(target="recall")
    with pytest.raises(ValueError, match="'auc' is not a column of the threshold sweep"):
        ev.choose_threshold(maximize="auc")
    with pytest.raises(ValueError, match="cost needs cost="):
        ev.choose_threshold(minimize="cost")
    with pytest.raises(ValueError, match="class 'x' is not one of the labels"):
        ev.choose_threshold(maximize="f1", pos_label="x")


# --------------------------------------------------------------------------- 8. for_class slices
@st.composite
def sliced_multiclass(draw, max_n=40):
    case = draw(label_cases(max_n=max_n, binary=False))
    n = len(case["y_true"])
    case["data"] = pd.DataFrame({"g": draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)),
                                 "h": draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))})
    return case


@SETTINGS
@given(case=sliced_multiclass(), data=st.data())
def test_for_class_slices_equal_sklearn(case, data):
    ev = mc.Evaluation(**case)
    c = data.draw(st.sampled_from(ev.labels.tolist()))
    view = ev.for_class(c)
    assert view.pos_label == c and ev.pos_label == case.get("pos_label")  # a view: the original is untouched
    sf = view.slices(by=["g", "h"], metrics=["recall", "precision", "f1", "specificity"], max_depth=2,
                     zero_division=np.nan, **FAST)
    i = ev.labels.tolist().index(c)
    y_all, p_all = (ev.t == i).astype(int), (ev.p == i).astype(int)
    for _, row in sf.to_frame().iterrows():
        mask = np.ones(ev.n, bool)
        for b in ("g", "h"):
            if not pd.isna(row[b]): mask &= (ev.data[b] == row[b]).to_numpy()
        assert row["n"] == mask.sum() > 0
        w = None if ev.w is None else ev.w[mask]
        if w is not None and w.sum() == 0:  # scikit-learn refuses all-zero weights; mlcompass: 0/0 = NaN
            assert np.isnan(row[["recall", "precision"]].astype(float)).all()
            continue
        want = binary_figures(y_all[mask], p_all[mask], w)
        for m in ("recall", "precision", "f1", "specificity"):
            assert same(row[m], want[m]), (row["slice"], m, row[m], want[m])
    # the overall row too
    w = ev.w
    assert same(sf.overall["recall"], binary_figures(y_all, p_all, w)["recall"])


def test_for_class_example():
    rng = np.random.default_rng(0)
    yt = rng.choice(["cat", "dog", "fox"], 600, p=[.6, .35, .05])
    yp = np.where(rng.random(600) < .2, rng.choice(["cat", "dog", "fox"], 600), yt)
    g = rng.choice(["ios", "android"], 600)
    yp2 = np.where((g == "android") & (yt == "fox"), "cat", yp)
    f = (mc.Evaluation(yt, yp2, data={"device": g}).for_class("fox")
         .slices(by="device", metrics=["recall", "precision"], zero_division=np.nan, **FAST).to_frame().set_index("device"))
    assert f.loc["android", "recall"] == 0.0
    for dev in ("ios", "android"):
        m = g == dev
        assert same(f.loc[dev, "recall"], skm.recall_score(yt[m] == "fox", yp2[m] == "fox"))
        assert same(f.loc[dev, "precision"], skm.precision_score(yt[m] == "fox", yp2[m] == "fox", zero_division=np.nan))
    with pytest.raises(ValueError, match="class 'maybe' is not one of the labels"):
        mc.Evaluation(yt, yp).for_class("maybe")
    with pytest.raises(ValueError, match="needs a classification task"):
        mc.Evaluation([1.5, 2.5], [1.0, 2.0]).for_class(1.5)


# --------------------------------------------------------------------------- displays (smoke)
def test_displays_render():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(3)
    yt = rng.choice(["a", "b", "c"], 120)
    rep = mc.Evaluation(yt, np.where(rng.random(120) < .3, "a", yt)).classes(n_boot=20)
    html = rep._repr_html_()
    assert "macro avg" in html and "per class" in html
    assert rep.plot(kind="bars").figure is rep.figure_ and rep.plot(kind="confusion").figure is rep.figure_
    with pytest.raises(ValueError, match="kind='pie' must be 'bars' or 'confusion'"): rep.plot(kind="pie")
    plt.close("all")
