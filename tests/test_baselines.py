"""Baselines, the comparison table, milestones and sanity checks, against independent references."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn import metrics as skm

import mlcompass as mc
from mlcompass.baselines import ALL, mcnemar_exact, fleiss_kappa


def speech_eval():
    "The course's speech example: 10,000 clips in four kinds of audio with the slice accuracies of the course's table."
    plan = {"clean speech": (6000, .94), "car noise": (400, .89), "people noise": (3000, .87), "low bandwidth": (600, .70)}
    kind, correct = [], []
    for k, (n, acc) in plan.items():
        kind += [k] * n
        correct += [True] * round(n * acc) + [False] * (n - round(n * acc))
    y = np.random.default_rng(0).integers(0, 2, len(kind))
    return mc.Evaluation(y, np.where(correct, y, 1 - y), data={"audio": kind})


def test_course_speech_example_exactly():
    hlp = mc.HumanLevel(per_slice={"clean speech": .95, "car noise": .93, "people noise": .89, "low bandwidth": .70})
    f = mc.compare(speech_eval(), [hlp], by="audio", metric="accuracy").to_frame().set_index("audio")
    assert f.loc["clean speech", "model"] == pytest.approx(.94) and f.loc["clean speech", "share"] == pytest.approx(.60)
    gains = (f["potential_gain"] * 100).round(10)
    assert gains["clean speech"] == pytest.approx(0.6)
    assert gains["car noise"] == pytest.approx(0.16)
    assert gains["people noise"] == pytest.approx(0.6)
    assert gains["low bandwidth"] == pytest.approx(0.0)
    assert f["gap_to_human-level"]["car noise"] == pytest.approx(0.04)  # the largest gap ...
    ranks = f["rank"].dropna().astype(int).to_dict()
    assert ranks == {"clean speech": 1, "people noise": 1, "car noise": 3, "low bandwidth": 4}  # ... but ranked third


def test_columns_of_the_comparison():
    ev = speech_eval()
    cmp = mc.compare(ev, [mc.HumanLevel(0.93), mc.Literature(0.91, metric="accuracy", source="A 2021", url="https://example.org")],
                     by="audio")
    f = cmp.to_frame()
    for c in ["slice", "n", "share", "model", "model_ci_low", "model_ci_high", "human-level", "literature", "trivial (majority)",
              "gap_to_human-level", "gap_to_literature", "gap_to_trivial (majority)", "potential_gain", "rank"]:
        assert c in f.columns, c
    assert f["slice"].iloc[0] == ALL and f["n"].iloc[0] == ev.n
    assert f.loc[0, "gap_to_human-level"] == pytest.approx(0.93 - f.loc[0, "model"])
    assert np.isnan(f.loc[1, "human-level"])  # a single figure says nothing about the slices
    refs = cmp.references.set_index("name")
    assert refs.loc["literature", "source"] == "A 2021" and refs.loc["literature", "url"] == "https://example.org"
    assert "<script" not in cmp._repr_html_()


@pytest.mark.parametrize("strategy", ["majority", "stratified", "uniform"])
def test_trivial_classifiers_equal_dummyclassifier(strategy):
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b", "c"], 500, p=[.6, .3, .1])
    ev = mc.Evaluation(y, np.where(rng.random(500) < .8, y, "a"), data={"g": rng.choice(["x", "y"], 500)})
    f = mc.compare(ev, [mc.Trivial(strategy, seed=3)], by="g", metric="accuracy").to_frame().set_index("slice")
    dummy = DummyClassifier(strategy={"majority": "most_frequent"}.get(strategy, strategy), random_state=3)
    pred = dummy.fit(np.zeros((500, 1)), y).predict(np.zeros((500, 1)))
    name = f"trivial ({strategy})"
    assert f.loc[ALL, name] == pytest.approx(skm.accuracy_score(y, pred))
    m = ev.data["g"].to_numpy() == "x"
    assert f.loc["g == 'x'", name] == pytest.approx(skm.accuracy_score(y[m], pred[m]))


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_trivial_regressors_equal_dummyregressor(strategy):
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 3.0, 400)
    train = rng.gamma(2.0, 3.0, 1000)
    ev = mc.Evaluation(y, y + rng.normal(0, 1, 400))
    f = mc.compare(ev, [mc.Trivial(strategy, train_labels=train)], metric="mae").to_frame()
    pred = DummyRegressor(strategy=strategy).fit(np.zeros((1000, 1)), train).predict(np.zeros((400, 1)))
    assert f.loc[0, f"trivial ({strategy})"] == pytest.approx(skm.mean_absolute_error(y, pred))
    # lower is better: the gap reads "reference minus model" in the better direction
    assert f.loc[0, f"gap_to_trivial ({strategy})"] == pytest.approx(f.loc[0, "model"] - skm.mean_absolute_error(y, pred))


def test_trivial_baseline_is_added_unless_told_not_to():
    ev = speech_eval()
    assert "trivial (majority)" in mc.compare(ev, []).baseline_names
    assert mc.compare(ev, [], trivial=False).baseline_names == []


def test_comparison_with_only_the_trivial_model_has_nothing_to_rank():
    cmp = mc.compare(speech_eval(), by="audio")
    assert cmp.target is None and not {"potential_gain", "rank"} & set(cmp.to_frame().columns)
    html = cmp._repr_html_()
    assert ">potential gain</th>" not in html and ">rank</th>" not in html
    assert "gap to None" not in html and "No reference besides the trivial model: no potential gain to rank." in html
    overall_only = mc.compare(speech_eval(), [mc.HumanLevel(0.95)], by="audio")._repr_html_()  # nothing to rank by slice
    assert ">potential gain</th>" not in overall_only and "Human-level is an overall figure only" in overall_only
    ev = speech_eval()
    per_slice = {s: 0.95 for s in mc.compare(ev, [mc.HumanLevel(0.95)], by="audio").to_frame()["slice"][1:]}
    with_target = mc.compare(ev, [mc.HumanLevel(0.95, per_slice=per_slice)], by="audio")._repr_html_()
    assert ">potential gain</th>" in with_target and "max(0, gap to human-level) × share" in with_target


def test_mcnemar_equals_statsmodels_and_scipy():
    from statsmodels.stats.contingency_tables import mcnemar
    from scipy.stats import binomtest
    rng = np.random.default_rng(2)
    for trial in range(20):
        n = int(rng.integers(5, 400))
        y = rng.integers(0, 2, n)
        a = np.where(rng.random(n) < rng.uniform(0, .4), 1 - y, y)
        b = np.where(rng.random(n) < rng.uniform(0, .4), 1 - y, y)
        p = mcnemar_exact(mc.Evaluation(y, a, labels=[0, 1]), mc.Evaluation(y, b, labels=[0, 1]), np.zeros(n, np.intp), 1)[0]
        ra, rb = a == y, b == y
        table = [[np.sum(ra & rb), np.sum(ra & ~rb)], [np.sum(~ra & rb), np.sum(~ra & ~rb)]]
        assert p == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-12)
        disc = table[0][1] + table[1][0]
        if disc: assert p == pytest.approx(binomtest(table[0][1], disc, 0.5).pvalue, abs=1e-12)


def test_previous_system_paired_per_slice():
    rng = np.random.default_rng(3)
    n = 3000
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    new = np.where(rng.random(n) < np.select([g == "a"], [.05], .15), 1 - y, y)
    old = np.where(rng.random(n) < np.select([g == "c"], [.05], .15), 1 - y, y)
    ev = mc.Evaluation(y, new, data={"g": g})
    cmp = mc.compare(ev, [mc.PreviousSystem(mc.Evaluation(y, old, data={"g": g}), name="prod")], by="g", metric="accuracy")
    f = cmp.to_frame().set_index("g")
    assert f.loc["a", "prod_verdict"] == "better" and f.loc["c", "prod_verdict"] == "worse"
    assert f.loc["b", "prod_verdict"] == "no detectable change"
    for v in "abc":
        m = g == v
        assert f.loc[v, "prod_change"] == pytest.approx((new[m] == y[m]).mean() - (old[m] == y[m]).mean())
        assert f.loc[v, "prod_change_ci_low"] <= f.loc[v, "prod_change"] <= f.loc[v, "prod_change_ci_high"]
    assert "worse on g == 'c'" in cmp.summary() and "better on g == 'a'" in cmp.summary()
    assert 'class="mc-worse"' in cmp._repr_html_()  # the regression stands out


@pytest.mark.parametrize("metric", ["f1", "recall", "roc_auc", "log_loss"])
def test_paired_difference_for_other_metrics(metric):
    rng = np.random.default_rng(4)
    n = 1500
    y = rng.integers(0, 2, n)
    s_new = np.clip(.5 * y + .5 * rng.random(n), 0, 1); s_old = np.clip(.3 * y + .7 * rng.random(n), 0, 1)
    ev = mc.Evaluation(y, (s_new > .5).astype(int), y_score=s_new)
    old = mc.Evaluation(y, (s_old > .5).astype(int), y_score=s_old)
    f = mc.compare(ev, [mc.PreviousSystem(old, name="old")], metric=metric).to_frame()
    ref = {"f1": lambda s: skm.f1_score(y, (s > .5).astype(int)), "recall": lambda s: skm.recall_score(y, (s > .5).astype(int)),
           "roc_auc": lambda s: skm.roc_auc_score(y, s), "log_loss": lambda s: skm.log_loss(y, s)}[metric]
    assert f.loc[0, "old_change"] == pytest.approx(ref(s_new) - ref(s_old))
    assert f.loc[0, "old_change_ci_low"] <= f.loc[0, "old_change"] <= f.loc[0, "old_change_ci_high"]
    assert f.loc[0, "old_verdict"] == "better"


def test_human_level_from_one_and_several_annotators():
    rng = np.random.default_rng(5)
    n = 1200
    g = rng.choice(["x", "y"], n)
    y = rng.choice(["cat", "dog", "fox"], n)
    flip = lambda p: np.where(rng.random(n) < p, rng.choice(["cat", "dog", "fox"], n), y)
    a1, a2, a3 = flip(.1), flip(.2), flip(.3)
    ev = mc.Evaluation(y, flip(.4), data={"g": g})
    f = mc.compare(ev, [mc.HumanLevel.from_labels(a1)], by="g", metric="accuracy").to_frame().set_index("slice")
    assert f.loc[ALL, "human-level"] == pytest.approx(skm.accuracy_score(y, a1))
    m = g == "x"
    assert f.loc["g == 'x'", "human-level"] == pytest.approx(skm.accuracy_score(y[m], a1[m]))
    labels = pd.DataFrame({"a1": a1, "a2": a2, "a3": a3})
    hl = mc.HumanLevel.from_labels(labels)
    vote = labels.apply(lambda r: r.value_counts().sort_index().idxmax(), axis=1)  # ties: first label in sorted order
    f = mc.compare(ev, [hl], metric="accuracy").to_frame()
    assert f.loc[0, "human-level"] == pytest.approx(skm.accuracy_score(y, vote))
    mean = mc.compare(ev, [mc.HumanLevel.from_labels(labels, aggregate="mean")], metric="accuracy").to_frame()
    assert mean.loc[0, "human-level"] == pytest.approx(np.mean([skm.accuracy_score(y, a) for a in (a1, a2, a3)]))
    agree = hl.agreement().set_index("annotators")["value"]
    assert agree["a1 vs a2"] == pytest.approx(skm.cohen_kappa_score(a1, a2))
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss, aggregate_raters
    assert agree["all"] == pytest.approx(sm_fleiss(aggregate_raters(labels.to_numpy())[0]))


def test_literature_on_another_dataset_is_flagged():
    ev = speech_eval()
    cmp = mc.compare(ev, [mc.OpenSource(0.9, metric="accuracy", source="model zoo", dataset="LibriSpeech")], dataset="our clips")
    assert not cmp.references.set_index("name").loc["open-source", "comparable"]
    assert "open-source: measured on 'LibriSpeech', not on 'our clips': compare with care." in cmp.notes
    same = mc.compare(ev, [mc.OpenSource(0.9, metric="accuracy", source="model zoo", dataset="our clips")], dataset="our clips")
    assert same.references.set_index("name").loc["open-source", "comparable"]


def test_costs_sit_beside_the_figures():
    ev = speech_eval()
    cmp = mc.compare(ev, [mc.PreviousSystem(ev.y_pred, name="v0", latency_ms=4.0, size_mb=120)],
                     model_costs={"latency_ms": 9.5, "size_mb": 40})
    refs = cmp.references.set_index("name")
    assert refs.loc["model", "latency_ms"] == 9.5 and refs.loc["v0", "size_mb"] == 120


def test_measure_latency():
    from sklearn.linear_model import LogisticRegression
    X = np.random.default_rng(0).normal(size=(300, 4)); y = (X[:, 0] > 0).astype(int)
    lat = mc.measure_latency(LogisticRegression().fit(X, y), X, n=30, batch_size=5)
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] and lat["batch_size"] == 5


def test_bad_input():
    ev = speech_eval()
    with pytest.raises(ValueError, match=re.escape("Literature 'paper' reports f1, but the comparison is on accuracy")):
        mc.compare(ev, [mc.Literature(0.8, metric="f1", source="x", name="paper")], metric="accuracy")
    with pytest.raises(ValueError, match=re.escape("HumanLevel 'human-level' has a per_slice value for 'tunnel noise', which is not a slice")):
        mc.compare(ev, [mc.HumanLevel(per_slice={"tunnel noise": .9})], by="audio")
    with pytest.raises(ValueError, match=re.escape("PreviousSystem 'previous system' has 99 entries but the evaluation has 10000 examples")):
        mc.compare(ev, [mc.PreviousSystem(ev.y_pred[:99])])
    short = mc.Evaluation(ev.y_true[:50], ev.y_pred[:50])
    with pytest.raises(ValueError, match=re.escape("PreviousSystem 'previous system' has 50 examples but the evaluation has 10000")):
        mc.compare(ev, [mc.PreviousSystem(short)])
    with pytest.raises(ValueError, match=re.escape("(a percentage? pass 0.95)")):
        mc.compare(ev, [mc.HumanLevel(95)])
    with pytest.raises(ValueError, match=re.escape("target='oracle' is not one of the baselines")):
        mc.compare(ev, [mc.HumanLevel(.95)], target="oracle")
    with pytest.raises(ValueError, match=re.escape("metric 'bias' has no better direction")):
        mc.compare(mc.Evaluation([1.5, 2.5, 3.5], [1.0, 2.0, 3.0]), [], metric="bias")
    with pytest.raises(ValueError, match=re.escape("Trivial strategy='mean' does not fit a binary task")):
        mc.compare(ev, [mc.Trivial("mean")])
    with pytest.raises(ValueError, match=re.escape("Trivial strategy='mode' is not one of")):
        mc.Trivial("mode")


def test_milestones_course_example_and_evaluations():
    ms = mc.milestones(train=0.92, dev=0.90, human=0.99)
    assert ms.gaps["avoidable_bias"] == pytest.approx(0.07) and ms.gaps["variance"] == pytest.approx(0.02)
    assert ms.focus == "bias" and ms.milestones["training set"] is False
    assert "avoidable bias 7 points, variance 2 points → focus on bias" in ms.summary()
    ms = mc.milestones(train=0.99, dev=0.985, test=0.93, human=0.995, business=True)
    assert ms.focus == "mismatch" and ms.milestones["test set"] is False
    ms = mc.milestones(train=0.99, dev=0.985, test=0.982, human=0.995, business=False)
    assert ms.focus == "business"
    y = np.array([0, 1] * 100)
    train = mc.Evaluation(y, y)
    dev = mc.Evaluation(y, np.where(np.arange(200) % 5 == 0, 1 - y, y))
    ms = mc.milestones(train=train, dev=dev, human=mc.HumanLevel(0.99))
    assert ms.to_frame().loc["dev", "value"] == pytest.approx(0.8) and ms.focus == "variance"
    assert ms.to_frame().loc["dev", "ci_low"] < 0.8 < ms.to_frame().loc["dev", "ci_high"]


def test_sanity_checks():
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600), "noise": rng.normal(size=600)})
    y = (X["a"] + 0.5 * X["b"] > 0).astype(int).to_numpy()
    ev = mc.Evaluation(y, LogisticRegression().fit(X, y).predict(X))
    rep = mc.sanity(model=DecisionTreeClassifier(), X=X, y=y, ev=ev)
    assert rep.passed, repr(rep)
    assert [c.name for c in rep.checks] == ["overfit a tiny subset", "beats the trivial baseline", "no label leakage"]
    leaky = X.assign(leak=np.where(y == 1, "yes", "no"))
    chk = mc.leakage(leaky, y)
    assert not chk.passed and "['leak']" in chk.message
    shuffled = rng.permutation(y)
    assert not mc.overfit_tiny(LogisticRegression(C=1e-4), X, shuffled).passed
    assert not mc.beats_trivial(mc.Evaluation(y, np.zeros_like(y))).passed


def test_trivial_scores_are_dummy_probabilities():
    rng = np.random.default_rng(6)
    y = rng.choice([0, 1], 800, p=[.7, .3])
    s = np.clip(.4 * y + .6 * rng.random(800), 0, 1)
    ev = mc.Evaluation(y, (s > .5).astype(int), y_score=s)
    zeros = np.zeros((800, 1))
    dummy = DummyClassifier(strategy="most_frequent").fit(zeros, y)
    f = mc.compare(ev, [], metric="log_loss").to_frame()
    assert f.loc[0, "trivial (majority)"] == pytest.approx(skm.log_loss(y, dummy.predict_proba(zeros)))
    assert mc.compare(ev, [], metric="roc_auc").to_frame().loc[0, "trivial (majority)"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=re.escape("PreviousSystem 'v0' has no probability scores, and roc_auc needs them")):
        mc.compare(ev, [mc.PreviousSystem(ev.y_pred, name="v0")], metric="roc_auc")


def test_results_plot_and_widget():
    import matplotlib
    matplotlib.use("Agg")
    import ipywidgets
    cmp = mc.compare(speech_eval(), [mc.HumanLevel(per_slice={"clean speech": .95})], by="audio")
    assert cmp.plot() is cmp.ax_ and len(cmp.ax_.collections) >= 2
    for marks in cmp.ax_.collections[1:]:  # each baseline's hollow markers have a visible edge
        assert marks.get_edgecolor().shape[0] > 0 and marks.get_edgecolor()[0][3] > 0
    assert isinstance(cmp.widget(), ipywidgets.VBox)
    ms = mc.milestones(train=0.92, dev=0.90, human=0.99)
    assert ms.plot() is ms.ax_ and "focus on bias" in ms._repr_html_()
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200)}); y = (X["a"] > 0).astype(int).to_numpy()
    rep = mc.sanity(X=X, y=y)
    assert rep.plot() is rep.ax_ and isinstance(rep.widget(), ipywidgets.HTML)
