"""Helpers for test_classes.py and test_fairness.py: strategies and scikit-learn / fairlearn references."""
import warnings
from functools import partial

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from sklearn import metrics as skm
from _parity_helpers import probabilities

RTOL, ATOL = 1e-9, 1e-12
INT_NAMES = [0, 1, 2, 3, 4, 5]
STR_NAMES = ["ant", "bee", "cat", "dog", "eel", "fox"]


def same(a, b, rtol=RTOL, atol=ATOL) -> bool:
    "Equal up to rounding, with NaN == NaN."
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b): return bool(np.isnan(a) and np.isnan(b))
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))


def assert_same(got, want, where=""):
    "Element-wise `same` on two equally shaped array-likes, one message listing every difference."
    g, w = np.asarray(got, float), np.asarray(want, float)
    assert g.shape == w.shape, f"{where}: shapes {g.shape} != {w.shape}"
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(g.ravel(), w.ravel())) if not same(a, b)]
    assert not bad, f"{where}: mlcompass vs reference differ at (flat index, mlcompass, reference): {bad[:8]}"


def quiet(fn, *args, **kwargs):
    "Call a reference function with its warnings silenced."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- strategies
@st.composite
def weights(draw, n, kinds=(None, "positive", "zeros")):
    "None, positive floats, or floats with some zeros (never all zero: mlcompass refuses a zero total)."
    kind = draw(st.sampled_from(kinds))
    if kind is None: return None
    el = st.floats(0.01, 10.0, allow_nan=False, allow_infinity=False)
    if kind == "zeros": el = st.one_of(st.just(0.0), el)
    w = np.array(draw(st.lists(el, min_size=n, max_size=n)), float)
    if w.sum() == 0: w[0] = 1.0
    return w


@st.composite
def label_cases(draw, max_n=40, binary=None):
    """Kwargs for mc.Evaluation: binary or multiclass (3-6 classes), int or string labels, `labels=` given (in a
    random order, with classes absent from y_true and y_pred) or inferred, with or without weights."""
    is_binary = draw(st.booleans()) if binary is None else binary
    k = 2 if is_binary else draw(st.integers(3, 6))
    names = list(draw(st.sampled_from([INT_NAMES, STR_NAMES]))[:k])
    n = draw(st.integers(1, max_n))
    pool = draw(st.lists(st.sampled_from(names), min_size=1, max_size=k, unique=True))
    yt = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    mode = draw(st.sampled_from(["random", "constant", "noisy", "from_pool"]))
    if mode == "random": yp = draw(st.lists(st.sampled_from(names), min_size=n, max_size=n))
    elif mode == "constant": yp = [draw(st.sampled_from(names))] * n
    elif mode == "from_pool": yp = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    else:
        flip = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        other = draw(st.lists(st.sampled_from(names), min_size=n, max_size=n))
        yp = [o if f else t for t, f, o in zip(yt, flip, other)]
    yt, yp = np.array(yt, dtype=object if isinstance(names[0], str) else int), np.array(yp, dtype=object if isinstance(names[0], str) else int)
    kw = dict(y_true=yt, y_pred=yp, sample_weight=draw(weights(n)))
    if draw(st.booleans()):
        kw["labels"] = draw(st.permutations(names))
    elif not is_binary:
        kw["task"] = "multiclass"  # only two (or one) classes may be observed: keep the task multiclass
    if is_binary:
        kw["task"] = "binary"
        if isinstance(names[0], str): kw["pos_label"] = names[1]
    return kw


@st.composite
def binary_score_cases(draw, max_n=40, weighted=(None, "positive", "zeros"), min_n=1):
    "Binary y_true (0/1 or strings with pos_label), a 1-d score with ties (tenths) or without, y_pred = score >= 0.5."
    n = draw(st.integers(min_n, max_n))
    yt = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["float", "tenths", "proba"]))
    if kind == "float": s = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)), float)
    elif kind == "tenths": s = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))) / 10
    else: s = probabilities(draw, n, 2)[:, 1]
    yp = (s >= 0.5).astype(int)
    kw = dict(y_true=yt, y_pred=yp, y_score=s, sample_weight=draw(weights(n, weighted)))
    if draw(st.booleans()):  # string labels: the score is the probability of pos_label
        enc = np.array(["no", "yes"], dtype=object)
        kw.update(y_true=enc[yt], y_pred=enc[yp], pos_label="yes", labels=["no", "yes"])
    return kw


@st.composite
def multiclass_score_cases(draw, max_n=40, weighted=(None, "positive", "zeros")):
    "Multiclass (3-5 classes) with (n, k) probabilities; every class present twice when `full`."
    k = draw(st.integers(3, 5))
    n = draw(st.integers(1, max_n))
    names = list(draw(st.sampled_from([INT_NAMES, STR_NAMES]))[:k])
    yt = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    if draw(st.booleans()):
        yt = np.concatenate([np.repeat(np.arange(k), 2), yt])
        n = len(yt)
    P = probabilities(draw, n, k)
    arr = np.array(names, dtype=object if isinstance(names[0], str) else int)
    return dict(y_true=arr[yt], y_pred=arr[P.argmax(axis=1)], y_score=P, labels=names,
                sample_weight=draw(weights(n, weighted)))


# --------------------------------------------------------------------------- references
def binary_figures(y, pred, w):
    "scikit-learn's figures of the 0/1 prediction `pred` of the boolean truth `y` (undefined = NaN)."
    y, pred = np.asarray(y).astype(int), np.asarray(pred).astype(int)
    tn, fp, fn, tp = quiet(skm.confusion_matrix, y, pred, labels=[0, 1], sample_weight=w).ravel()
    # one call: class 1 gives precision, recall, F1; the recall of class 0 is the specificity
    p, r, f, _ = quiet(skm.precision_recall_fscore_support, y, pred, labels=[0, 1], average=None,
                       zero_division=np.nan, sample_weight=w)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": p[1], "recall": r[1], "f1": f[1],
            "specificity": r[0], "selection_rate": np.average(pred, weights=w),
            "accuracy": quiet(skm.accuracy_score, y, pred, sample_weight=w)}


def sk_tpr(y_true, y_pred, sample_weight=None):
    "TPR with 0/0 = NaN (fairlearn's true_positive_rate says 0 there)."
    return skm.recall_score(y_true, y_pred, labels=[0, 1], zero_division=np.nan, sample_weight=sample_weight)


def sk_fpr(y_true, y_pred, sample_weight=None):
    "FPR with 0/0 = NaN (fairlearn's false_positive_rate says 0 there)."
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1], sample_weight=sample_weight).ravel()
    return fp / (fp + tn) if fp + tn > 0 else np.nan


def fairlearn_metrics(nan_rates=False):
    "The default fairness metrics as fairlearn functions (tpr/fpr with NaN for 0/0 when `nan_rates`)."
    from fairlearn.metrics import selection_rate, true_positive_rate, false_positive_rate
    return {"selection_rate": selection_rate,
            "tpr": sk_tpr if nan_rates else true_positive_rate,
            "fpr": sk_fpr if nan_rates else false_positive_rate,
            "precision": partial(skm.precision_score, zero_division=np.nan),
            "accuracy": skm.accuracy_score}


def metricframe(y, p, sf, cf=None, w=None, nan_rates=False, metrics=None):
    from fairlearn.metrics import MetricFrame
    fns = fairlearn_metrics(nan_rates)
    if metrics is not None: fns = {m: fns[m] for m in metrics}
    sp = {m: {"sample_weight": w} for m in fns} if w is not None else None
    return quiet(MetricFrame, metrics=fns, y_true=y, y_pred=p, sensitive_features=sf, control_features=cf,
                 sample_params=sp)
