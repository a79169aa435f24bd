"""Bad input gets a clear message naming the argument, the value and what is accepted."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc
from mlcompass import core


def raises(exc, message):
    "pytest.raises matching `message` literally."
    return pytest.raises(exc, match=re.escape(message))


def test_mismatched_lengths_name_every_input():
    msg = core.MSG_LENGTHS.format(lengths="y_true=3, y_pred=2")
    with raises(ValueError, msg):
        mc.Evaluation([0, 1, 1], [0, 1])
    msg = core.MSG_LENGTHS.format(lengths="y_true=3, y_pred=3, y_score=3, data=2, sample_weight=3")
    with raises(ValueError, msg):
        mc.Evaluation([0, 1, 1], [0, 1, 1], y_score=[.1, .2, .3], data={"a": [1, 2]}, sample_weight=[1, 1, 1])


def test_empty_input():
    with raises(ValueError, core.MSG_EMPTY.format(arg="y_true")):
        mc.Evaluation([], [])


@pytest.mark.parametrize("arg", ["y_true", "y_pred"])
def test_missing_values_are_refused_not_dropped(arg):
    good, bad = ["a", "b", "a", "b"], ["a", None, "a", np.nan]
    kw = {"y_true": bad if arg == "y_true" else good, "y_pred": bad if arg == "y_pred" else good}
    with raises(ValueError, core.MSG_MISSING_VALUES.format(arg=arg, count=2, positions="1, 3")):
        mc.Evaluation(kw["y_true"], kw["y_pred"], pos_label="a")


def test_nan_in_float_targets():
    with raises(ValueError, core.MSG_MISSING_VALUES.format(arg="y_true", count=1, positions="2")):
        mc.Evaluation([1.5, 2.5, np.nan], [1.0, 2.0, 3.0])


def test_prediction_labels_never_seen_warn_and_count_as_errors():
    with pytest.warns(UserWarning, match=re.escape(core.MSG_UNSEEN_PRED.format(extra=["c"], labels=["a", "b", "c"], hint=""))):
        ev = mc.Evaluation(["a", "b", "a"], ["a", "b", "c"])
    assert ev.metrics(["accuracy"])["accuracy"] == pytest.approx(2 / 3)


def test_prediction_labels_outside_given_labels_warn():
    with pytest.warns(UserWarning, match=re.escape(core.MSG_UNSEEN_PRED.format(extra=["z"], labels=["a", "b", "c", "z"], hint=""))):
        ev = mc.Evaluation(["a", "b", "a"], ["a", "z", "a"], labels=["a", "b", "c"])
    assert ev.labels.tolist() == ["a", "b", "c", "z"]


def test_true_labels_outside_given_labels_are_an_error():
    with raises(ValueError, core.MSG_TRUE_NOT_IN_LABELS.format(extra=["c"], labels=["a", "b"])):
        mc.Evaluation(["a", "c"], ["a", "b"], labels=["a", "b"], pos_label="a")


def test_mix_of_target_types():
    msg = core.MSG_MIXED_TYPES.format(true_type="class labels", pred_type="continuous (non-integer numbers)",
                                      hint="; y_pred looks like scores or probabilities: pass them as y_score= and class predictions as y_pred=")
    with raises(ValueError, msg):
        mc.Evaluation(["a", "b"], [0.2, 0.7])
    msg = core.MSG_MIXED_TYPES.format(true_type="class labels", pred_type="whole numbers", hint="")
    with raises(ValueError, msg):
        mc.Evaluation(["a", "b"], [0, 1])


def test_probabilities_passed_as_predictions():
    with pytest.raises(ValueError, match="pass them as y_score="):
        mc.Evaluation([0, 1, 1], [0.2, 0.9, 0.7])


def test_unknown_task():
    with raises(ValueError, core.MSG_TASK.format(task="ranking", tasks=core.TASKS)):
        mc.Evaluation([0, 1], [0, 1], task="ranking")


def test_binary_task_with_three_labels():
    with raises(ValueError, core.MSG_TASK_LABELS.format(k=3, labels=[0, 1, 2])):
        mc.Evaluation([0, 1, 2], [0, 1, 2], task="binary")


def test_regression_targets_must_be_numeric():
    with raises(TypeError, core.MSG_REGRESSION_NOT_NUMERIC.format(arg="y_true", dtype=np.dtype(object), example="a")):
        mc.Evaluation(np.array(["a", "b"], dtype=object), np.array(["a", "c"], dtype=object), task="regression")


def test_pos_label_not_a_label_and_needed():
    with raises(ValueError, core.MSG_POS_LABEL.format(pos_label="maybe", labels=["no", "yes"])):
        mc.Evaluation(["no", "yes"], ["no", "yes"], pos_label="maybe")
    with raises(ValueError, core.MSG_POS_LABEL_NEEDED.format(labels=["<=50K", ">50K"])):
        mc.Evaluation(["<=50K", ">50K"], [">50K", ">50K"])


def test_scores_outside_unit_interval():
    with raises(ValueError, core.MSG_SCORE_RANGE.format(lo=-0.5, hi=2.0)):
        mc.Evaluation([0, 1], [0, 1], y_score=[-0.5, 2.0])


def test_score_rows_must_sum_to_one():
    msg = core.MSG_SCORE_SUM.format(labels=[0, 1, 2], count=1, positions="1", sums="0.9")
    with raises(ValueError, msg):
        mc.Evaluation([0, 1, 2], [0, 1, 2], y_score=[[.2, .3, .5], [.3, .3, .3], [0, 0, 1]])


def test_score_width_must_match_labels():
    msg = core.MSG_SCORE_WIDTH.format(width=2, k=3, labels=[0, 1, 2], hint="")
    with raises(ValueError, msg):
        mc.Evaluation([0, 1, 2], [0, 1, 2], y_score=[[.5, .5]] * 3)
    msg = core.MSG_SCORE_WIDTH.format(width=1, k=3, labels=[0, 1, 2], hint="")
    with raises(ValueError, msg):
        mc.Evaluation([0, 1, 2], [0, 1, 2], y_score=[.5, .5, .5])


def test_nan_scores():
    with raises(ValueError, core.MSG_SCORE_NAN.format(count=1, positions="0")):
        mc.Evaluation([0, 1], [0, 1], y_score=[np.nan, 0.5])


def test_scores_for_regression():
    with raises(ValueError, core.MSG_SCORE_REGRESSION):
        mc.Evaluation([1.5, 2.5], [1.0, 2.0], y_score=[0.1, 0.2])


def test_feature_column_not_in_data():
    ev = mc.Evaluation([0, 1], [0, 1], data={"sex": ["F", "M"]})
    msg = core.MSG_FEATURE_MISSING.format(arg="by", name="race", where="the evaluation's data", available=["sex"])
    with raises(ValueError, msg):
        ev.slices(by=["race"])
    df = pd.DataFrame({"y": [0, 1], "p": [0, 1], "sex": ["F", "M"]})
    msg = core.MSG_FEATURE_MISSING.format(arg="features", name="race", where="df", available=["y", "p", "sex"])
    with raises(ValueError, msg):
        mc.Evaluation.from_frame(df, y_true="y", y_pred="p", features=["race"])
    msg = core.MSG_FEATURE_MISSING.format(arg="y_score", name="proba", where="df", available=["y", "p", "sex"])
    with raises(ValueError, msg):
        mc.Evaluation.from_frame(df, y_true="y", y_pred="p", y_score="proba")


@pytest.mark.parametrize("w, msg", [
    ([1.0, -2.0, 1.0], core.MSG_WEIGHT_NEGATIVE.format(count=1, positions="1", example=-2.0)),
    ([1.0, np.nan, 1.0], core.MSG_WEIGHT_NAN.format(count=1, positions="1")),
    ([1.0, np.inf, 1.0], core.MSG_WEIGHT_NAN.format(count=1, positions="1")),
    ([0.0, 0.0, 0.0], core.MSG_WEIGHT_ZERO),
])
def test_bad_sample_weight(w, msg):
    with raises(ValueError, msg):
        mc.Evaluation([0, 1, 1], [0, 1, 0], sample_weight=w)


def test_misaligned_pandas_inputs_are_refused():
    y = pd.Series([0, 1, 1], index=[10, 11, 12])
    p = pd.Series([0, 1, 1], index=[12, 11, 10])
    with raises(ValueError, core.MSG_INDEX_MISMATCH.format(a="y_true", b="y_pred", pos=0, va=10, vb=12)):
        mc.Evaluation(y, p)
    # aligned pandas inputs with any index are fine; data is re-indexed 0..n-1
    ev = mc.Evaluation(y, y, data=pd.DataFrame({"g": list("abc")}, index=[10, 11, 12]))
    assert list(ev.data.index) == [0, 1, 2]


def test_two_dimensional_targets():
    with raises(ValueError, core.MSG_2D_TARGET.format(arg="y_true", shape=(2, 2))):
        mc.Evaluation([[0, 1], [1, 0]], [0, 1])


def test_data_of_wrong_type():
    with raises(TypeError, core.MSG_DATA_TYPE.format(type="list")):
        mc.Evaluation([0, 1], [0, 1], data=[1, 2])


def test_unknown_and_unavailable_metrics():
    ev = mc.Evaluation([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match=re.escape("metric 'f1' is not available for this evaluation: it is about one positive class: "
                                                   "pass pos_label= for one-vs-rest, or use f1_macro, f1_micro or f1_weighted")):
        ev.metrics(["f1"])
    with pytest.raises(ValueError, match=re.escape("metric 'roc_auc' is not available for this evaluation: it needs probability scores")):
        ev.metrics(["roc_auc"])
    with pytest.raises(ValueError, match=re.escape("metric 'mae' is not available for this evaluation: it applies to regression tasks")):
        ev.metrics(["mae"])
    with pytest.raises(ValueError, match=re.escape("metric 'auc' is not known")):
        ev.metrics(["auc"])
    with pytest.raises(TypeError, match=re.escape("metrics entries must be metric names, Metric objects or callables")):
        ev.metrics([3])


def test_bad_slice_parameters():
    ev = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], data={"g": list("abab"), "n": [1, 2, 3, 4]})
    with raises(ValueError, "by is empty"):
        ev.slices(by=[])
    with raises(ValueError, "by names a column more than once: ['g']"):
        ev.slices(by=["g", "g"])
    with raises(ValueError, "max_depth=0 must be an integer >= 1."):
        ev.slices(by="g", max_depth=0)
    with raises(ValueError, "min_support=-1 must be an integer >= 0."):
        ev.slices(by="g", min_support=-1)
    with pytest.raises(ValueError, match=re.escape("by column(s) ['n'] collide with the slice table's own columns")):
        ev.slices(by="n")
    with raises(ValueError, "zero_division='zero' is not accepted: use 'warn' (NaN and a warning), np.nan (NaN, silently), 0 or 1."):
        ev.slices(by="g", zero_division="zero")
    with raises(ValueError, "ci=1.5 must be a confidence level strictly between 0 and 1, e.g. 0.95."):
        ev.slices(by="g", ci=1.5)


def test_cost_matrix_errors():
    ev = mc.Evaluation(["a", "b"], ["a", "a"], pos_label="b")
    with pytest.raises(ValueError, match=re.escape("Cost matrix has shape (3, 3), but there are 2 labels ['a', 'b']")):
        ev.metrics([mc.Cost(np.zeros((3, 3)))])
    with pytest.raises(ValueError, match=re.escape("Cost matrix names true label 'c', which is not one of the labels ['a', 'b']")):
        ev.metrics([mc.Cost({("c", "a"): 1})])
    with pytest.raises(ValueError, match="Cost takes either matrix="):
        mc.Cost([[0, 1], [1, 0]], over=1)


def test_numeric_unseen_predictions_suggest_regression():
    with pytest.warns(UserWarning, match=re.escape(core.HINT_REGRESSION)):
        mc.Evaluation([10.0, 10.0, 12.0], [12.0, 8.0, 10.0])


def test_label_types_ints_strings_booleans_categoricals():
    yt = pd.Series(pd.Categorical(["cat", "dog", "cat", "bird"], categories=["bird", "cat", "dog"]))
    yp = pd.Series(pd.Categorical(["cat", "cat", "cat", "bird"], categories=["bird", "cat", "dog"]))
    ev = mc.Evaluation(yt, yp)
    assert ev.task == "multiclass" and ev.labels.tolist() == ["bird", "cat", "dog"]
    assert ev.metrics(["accuracy"], ci=None)["accuracy"] == 0.75
    ev = mc.Evaluation(np.array([True, False, True]), np.array([True, True, True]))
    assert ev.task == "binary" and ev.pos_label is True and ev.labels.tolist() == [False, True]
    assert ev.metrics(["precision"], ci=None)["precision"] == pytest.approx(2 / 3)
    ev = mc.Evaluation(pd.Series(["b", "a"], dtype="str"), pd.Series(["a", "a"], dtype="str"), pos_label="a")
    assert ev.labels.tolist() == ["a", "b"] and ev.metrics(["recall"], ci=None)["recall"] == 1.0


@pytest.fixture(scope="module")
def small_ev():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.clip(y * .4 + rng.random(200) * .6, 0, 1)
    return mc.Evaluation(y, (s > .5).astype(int), y_score=s, data={"g": rng.choice(list("abc"), 200), "x": rng.normal(size=200)})


BAD_ARGUMENTS = [
    ("discover", dict(k=0), "k=0 must be an integer >= 1."),
    ("discover", dict(k=-1), "k=-1 must be an integer >= 1."),
    ("discover", dict(max_level=0), "max_level=0 must be an integer >= 1."),
    ("discover", dict(alpha=0), "alpha=0 must be a number in (0, 1]."),
    ("discover", dict(alpha=1.5), "alpha=1.5 must be a number in (0, 1]."),
    ("discover", dict(method="tree", max_depth=0), "max_depth=0 must be an integer >= 1."),
    ("discover", dict(max_values=0), "max_values=0 must be an integer >= 1."),
    ("discover", dict(seed="abc"), "seed='abc' must be an integer >= 0."),
    ("slices", dict(by="g", n_boot=-1), "n_boot=-1 must be an integer >= 0."),
    ("slices", dict(by="g", seed="abc"), "seed='abc' must be an integer >= 0."),
    ("slices", dict(by="g", max_values=0), "max_values=0 must be an integer >= 1."),
    ("slices", dict(by="g", ci=2), "ci=2 must be a confidence level strictly between 0 and 1, e.g. 0.95."),
    ("slices", dict(by="x", bins=[]), "bins=[] must be a positive number of bins or a non-empty list of finite edges"),
    ("metrics", dict(n_boot=-5), "n_boot=-5 must be an integer >= 0."),
    ("thresholds", dict(thresholds=-5), "thresholds=-5 must be a positive number of evenly spaced thresholds"),
    ("thresholds", dict(thresholds=[0.5, np.nan]), "must be a positive int, an array of finite thresholds or 'unique'."),
]


@pytest.mark.parametrize("method, kw, message", BAD_ARGUMENTS, ids=[f"{m}-{list(kw.items())[-1]}" for m, kw, _ in BAD_ARGUMENTS])
def test_bad_arguments_name_the_argument_the_value_and_what_is_accepted(small_ev, method, kw, message):
    with raises(ValueError, message):
        getattr(small_ev, method)(**kw)


def test_duplicate_data_columns_are_refused():
    data = pd.DataFrame([[1, 2, 3], [4, 5, 6]], columns=["a", "b", "a"])
    with raises(ValueError, core.MSG_DUPLICATE_COLUMNS.format(dup=["a"])):
        mc.Evaluation([0, 1], [0, 1], data=data)
