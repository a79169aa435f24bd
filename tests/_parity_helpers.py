"""Shared helpers for the parity tests: references computed with scikit-learn / fairlearn on a slice's rows."""
import warnings

import numpy as np
from hypothesis import strategies as st
import pandas as pd
from sklearn import metrics as skm
from fairlearn.metrics import selection_rate

RTOL, ATOL = 1e-9, 1e-12


def same(a, b, rtol=RTOL, atol=ATOL) -> bool:
    "Equal up to rounding, with NaN == NaN."
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b): return bool(np.isnan(a) and np.isnan(b))
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))


def check_same(got: dict, want: dict, where: str = ""):
    "Assert every metric of `want` equals `got` (NaN == NaN); one message listing all differences."
    bad = {k: (got[k], v) for k, v in want.items() if not same(got[k], v)}
    assert not bad, f"{where}: mlcompass vs reference differ: " + ", ".join(f"{k}: {g!r} != {w!r}" for k, (g, w) in bad.items())


def quiet(fn, *args, **kwargs):
    "Call a reference function with its warnings (UndefinedMetricWarning, ...) silenced."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _ratio(num, den, zd):
    return float(zd) if den == 0 else num / den


# --------------------------------------------------------------------------- classification references
def one_vs_rest_cells(yt, yp, w, labels, pos_label):
    """(tn, fp, fn, tp) of `pos_label` vs the rest, summed from the cells of scikit-learn's confusion_matrix.

    Not multilabel_confusion_matrix: it gets tn as total - tp - fp - fn, which leaves rounding residue
    (e.g. 1e-17 instead of 0) with float weights, so 0/0 turns into 1e-17/1e-17 = 1."""
    cm = quiet(skm.confusion_matrix, yt, yp, labels=list(labels), sample_weight=w)
    i = list(labels).index(pos_label)
    t = np.arange(len(labels)) == i
    return cm[~t][:, ~t].sum(), cm[~t][:, t].sum(), cm[t][:, ~t].sum(), cm[t][:, t].sum()


def sk_classification(yt, yp, w, labels, pos_label, zd, task):
    """scikit-learn's (and fairlearn's) figures for the label metrics on these rows.

    `zd` is the zero_division given to both libraries (np.nan, 0 or 1); `labels` are `ev.labels`."""
    labels = list(labels)
    out = {}
    acc = quiet(skm.accuracy_score, yt, yp, sample_weight=w)
    out["accuracy"], out["error_rate"] = acc, 1 - acc
    out["balanced_accuracy"] = quiet(skm.balanced_accuracy_score, yt, yp, sample_weight=w)
    # averages run over the classes present on these rows (scikit-learn's default labels), a class being present when
    # it carries weight in the truth or the predictions: a zero-weight example does not make its class count
    ww = np.ones(len(yt)) if w is None else np.asarray(w, float)
    present = [c for c in labels if ww[(np.asarray(yt) == c) | (np.asarray(yp) == c)].sum() > 0] or labels
    for avg in ("macro", "weighted", "micro"):
        p, r, f, _ = quiet(skm.precision_recall_fscore_support, yt, yp, labels=present, average=avg,
                           zero_division=zd, sample_weight=w)
        out[f"precision_{avg}"], out[f"recall_{avg}"], out[f"f1_{avg}"] = p, r, f
    # scikit-learn's weighted average with zero_division=np.nan drops the NaN classes and, when the classes left all
    # have zero support, returns their *unweighted* mean (sklearn.utils._array_api._nanaverage catches the
    # ZeroDivisionError).  Flag those figures so that the caller can tell this case apart.
    per_class = quiet(skm.precision_recall_fscore_support, yt, yp, labels=labels, average=None,
                      zero_division=zd, sample_weight=w)
    support = per_class[3] if w is None else np.array(
        [np.sum(np.asarray(w)[np.asarray(yt) == c]) for c in labels])
    out["_weighted_fallback"] = [f"{name}_weighted" for name, vals in zip(("precision", "recall", "f1"), per_class[:3])
                                 if np.any(~np.isnan(vals)) and support[~np.isnan(vals)].sum() == 0]
    if pos_label is not None:
        if task == "binary":
            p, r, f, _ = quiet(skm.precision_recall_fscore_support, yt, yp, labels=labels, pos_label=pos_label,
                               average="binary", zero_division=zd, sample_weight=w)
        else:
            i = labels.index(pos_label)
            p, r, f, _ = (a[i] for a in quiet(skm.precision_recall_fscore_support, yt, yp, labels=labels, average=None,
                                              zero_division=zd, sample_weight=w))
        out["precision"], out["recall"], out["tpr"], out["f1"] = p, r, r, f
        tn, fp, fn, tp = one_vs_rest_cells(yt, yp, w, labels, pos_label)
        out["specificity"] = _ratio(tn, tn + fp, zd)
        out["fpr"] = _ratio(fp, fp + tn, zd)
        out["fnr"] = _ratio(fn, fn + tp, zd)
        out["selection_rate"] = quiet(selection_rate, yt, yp, pos_label=pos_label, sample_weight=w)
        if task == "binary":
            # specificity is the recall of the negative class
            neg = next(v for v in labels if v != pos_label)
            out["_specificity_as_recall"] = quiet(skm.recall_score, yt, yp, labels=labels, pos_label=neg,
                                                  average="binary", zero_division=zd, sample_weight=w)
    return out


def slice_masks(frame: pd.DataFrame, data: pd.DataFrame, by):
    "Yield (row, boolean mask of data rows where every predicate of the slice holds, features used)."
    for _, row in frame.iterrows():
        mask = np.ones(len(data), bool)
        used = []
        for b in by:
            v = row[b]
            if pd.isna(v): continue
            used.append(b)
            mask &= (data[b] == v).to_numpy()
        yield row, mask, used


def bh(p):
    "Textbook Benjamini-Hochberg step-up adjustment (NaN ignored)."
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0: return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.empty(m)
    running = 1.0
    for i in range(m - 1, -1, -1):
        running = min(running, p[order[i]] * m / (i + 1))
        adj[i] = running
    out[order] = adj
    return out


def wilson_textbook(successes, n, conf=0.95):
    "Wilson score interval (Wilson 1927), written out from the textbook formula."
    from scipy.stats import norm
    if n == 0: return np.nan, np.nan
    z = norm.ppf(1 - (1 - conf) / 2)
    phat = successes / n
    centre = (phat + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
    half = z / (1 + z ** 2 / n) * np.sqrt(phat * (1 - phat) / n + z ** 2 / (4 * n ** 2))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def probabilities(draw, n, k):
    "Row-stochastic (n, k) scores: Dirichlet draws, or compositions of 10 tenths (many ties, exact 0 and 1)."
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
        return rng.dirichlet(np.full(k, draw(st.sampled_from([0.3, 1.0, 5.0]))), size=n)
    rows = []
    for _ in range(n):
        cuts = sorted(draw(st.lists(st.integers(0, 10), min_size=k - 1, max_size=k - 1)))
        rows.append(np.diff([0] + cuts + [10]) / 10)
    return np.array(rows, float)
