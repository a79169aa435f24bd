"""The structure the architecture promises: one shape for every result, real method signatures, no import cycles."""
import ast
import inspect
import json
import pathlib
import warnings

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import mlcompass as mc
from mlcompass.render import Result

PKG = pathlib.Path(mc.__file__).parent
ODD = "<b>R&D</b>" # a value from the data that must reach the HTML escaped


@pytest.fixture(scope="module")
def ev():
    rng = np.random.default_rng(0)
    n = 600
    g = rng.choice(["north", "south", ODD], n)
    y = rng.integers(0, 2, n)
    s = np.clip(0.35 * y + 0.65 * rng.random(n) - 0.1 * (g == "south"), 0, 1)
    return mc.Evaluation(y, (s > 0.5).astype(int), y_score=s, data={"g": g, "x": rng.normal(size=n)})


def quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


RESULTS = {
    "MetricsResult": lambda ev: ev.metrics(),
    "SliceFrame": lambda ev: ev.slices(by="g"),
    "DiscoveredSlices (SliceLine)": lambda ev: ev.discover(by=["g", "x"]),
    "DiscoveredSlices (tree)": lambda ev: ev.discover("tree", by=["g", "x"]),
    "BaselineComparison": lambda ev: ev.compare([mc.HumanLevel(0.9)], by="g"),
    "ClassReport": lambda ev: ev.classes(),
    "Curves": lambda ev: ev.curves("pr"),
    "ThresholdChoice": lambda ev: ev.choose_threshold(maximize="f1"),
    "FairnessReport": lambda ev: ev.fairness("g"),
    "GateResults": lambda ev: ev.check(mc.Gates(min_overall={"accuracy": 0.5}, min_slice={"accuracy": 0.5}, by="g")),
    "SanityReport": lambda ev: mc.sanity(ev=ev),
    "Milestones": lambda ev: mc.milestones(train=0.95, dev=0.9, human=0.97),
    "ErrorTags": lambda ev: tagged_errors(ev).error_tags(),
    "Findings": lambda ev: ev.findings([mc.HumanLevel(0.9)], by=["g", "x"]),
    # a previous model right on every example of one group (named from the data): the new one regressed there
    "Regressions": lambda ev: ev.regressions(np.where(ev.data["g"] == ODD, ev.y_true, ev.y_pred), by=["g", "x"]),
    "Leaderboard": lambda ev: mc.leaderboard({ODD: ev, "other": mc.Evaluation(ev.y_true, np.where(ev.data["g"] == ODD, ev.y_true, ev.y_pred),
                                                                              data=ev.data)}, by="g", group={ODD: ODD, "other": "b"}),
    "History": lambda ev: logged_history(ev),
    "Drift": lambda ev: mc.drift(ev, shifted(ev), y_pred="pred", y_score="score"),
    "PerformanceEstimate": lambda ev: mc.estimate_performance(ev, shifted(ev), by="g", y_pred="pred", y_score="score", y_true="y"),
}


def shifted(ev):
    "A current period of `ev`'s rows resampled toward the group named from the data, with its labels."
    f = pd.DataFrame({"g": ev.data["g"], "x": ev.data["x"], "pred": ev.y_pred, "score": ev.proba[:, 1], "y": ev.y_true})
    w = np.where(f["g"] == ODD, 3.0, 1.0)
    return f.iloc[np.random.default_rng(1).choice(len(f), 400, p=w / w.sum())].reset_index(drop=True)


def logged_history(ev):
    "Two runs of `ev` logged by slice of g (named from the data) into a fresh store, followed overall and in one slice."
    import tempfile
    store = mc.RunStore(pathlib.Path(tempfile.mkdtemp()) / "runs.db")
    for name in (ODD, "second"): mc.log_run(ev, name=name, by=["g"], store=store)
    return mc.history("accuracy", slices=[f"g == {ODD!r}"], store=store)


def tagged_errors(ev):
    "The evaluation with its first 40 errors tagged, one tag named from the data (escaped in the HTML)."
    import tempfile
    wrong = np.flatnonzero(ev.t != ev.p)[:40]
    store = pathlib.Path(tempfile.mkdtemp()) / "tags.csv"
    pd.DataFrame({"id": [str(i) for i in wrong], "tags": [ODD if j % 3 else "blurry" for j in range(len(wrong))], "note": ""}).to_csv(store, index=False)
    return mc.with_tags(ev, store)


@pytest.mark.parametrize("name", RESULTS)
def test_every_result_has_one_shape(ev, name):
    r = quiet(lambda: RESULTS[name](ev))
    assert isinstance(r, Result), type(r)
    f = r.to_frame()
    assert isinstance(f, pd.DataFrame) and len(f) and f is not r.to_frame() # a copy
    json.dumps(r.to_dict()) # plain data
    html = r._repr_html_()
    assert isinstance(html, str) and html.strip().startswith("<") and "<script" not in html
    assert ODD not in html # data reaches the page escaped
    ax = quiet(r.plot)
    assert isinstance(ax, plt.Axes) and r.ax_ is ax and r.figure_ is ax.figure
    _, given = plt.subplots()
    assert quiet(lambda: r.plot(ax=given)) is given and r.ax_ is given
    plt.close("all")
    import ipywidgets
    assert isinstance(r.widget(), ipywidgets.Widget)


def test_result_classes_are_all_covered():
    "Every Result subclass the package defines is in the contract test above."
    import mlcompass.widgets # noqa: F401 (load every module)
    def subclasses(c): return {c} | {s for k in c.__subclasses__() for s in subclasses(k)}
    names = {c.__name__ for c in subclasses(Result) if c.__module__.startswith("mlcompass")} - {"Result"}
    assert names <= {k.split(" ")[0] for k in RESULTS}, names


@pytest.mark.parametrize("method", ["slices", "metrics", "compare", "classes", "curves", "choose_threshold", "thresholds",
                                    "discover", "fairness", "check", "for_class", "with_tags", "widget"])
def test_evaluation_methods_show_their_parameters(method):
    params = inspect.signature(getattr(mc.Evaluation, method)).parameters
    assert list(params)[0] == "self"
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()), (method, list(params))


def test_a_method_signature_in_full():
    params = inspect.signature(mc.Evaluation.classes).parameters
    assert list(params) == ["self", "min_support", "rare_share", "paradox_margin", "zero_division", "ci", "n_boot", "seed"]
    assert mc.Evaluation.compare.__doc__ == mc.compare.__doc__


def module_graph():
    "mlcompass module -> the mlcompass modules it imports anywhere in its source (top level or inside functions)."
    mods = {p.stem for p in PKG.glob("*.py")} - {"_modidx"}
    graph = {}
    for m in mods:
        deps = set()
        for node in ast.walk(ast.parse((PKG / f"{m}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1: deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
                elif node.module and node.module.startswith("mlcompass."): deps.add(node.module.split(".")[1])
                elif node.module == "mlcompass": deps |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("mlcompass.")}
        graph[m] = (deps & mods) - {m}
    return graph


def test_no_import_cycles():
    graph = module_graph()
    cycles, done = [], set()
    def visit(m, path):
        if m in path: cycles.append(path[path.index(m):] + [m]); return
        if m in done: return
        for d in sorted(graph[m]): visit(d, path + [m])
        done.add(m)
    for m in sorted(graph): visit(m, [])
    assert not cycles, cycles


def test_import_stays_light():
    import subprocess, sys
    code = "import sys, mlcompass; print(sorted(m for m in ('matplotlib', 'seaborn', 'ipywidgets', 'fairlearn', 'sklearn', 'polars', 'duckdb', 'narwhals', 'pyspark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out


# -- one boundary: the group-statistics protocol, implemented in memory and on engines ---------------------------------------

PROTOCOL = ["encode_features", "evaluate_groups", "whole_stats", "metrics", "discovery_rows", "trivial_evaluation", "write_predictions",
            "paired_groups"]


@pytest.mark.parametrize("name", PROTOCOL)
def test_protocol_is_declared_on_both_sides(name):
    "Each method of the boundary is declared for the in-memory Evaluation and for EngineEvaluation, with real parameters."
    from mlcompass.engines import EngineEvaluation
    for cls in (mc.Evaluation, EngineEvaluation):
        m = cls.__dict__.get(name)
        assert m is not None and m.__qualname__ == f"{cls.__name__}.{name}", (cls, name)
        params = inspect.signature(m).parameters
        assert list(params)[0] == "self" and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def test_no_engine_tests_outside_the_engines():
    "Callers ask what an evaluation can do (`capabilities`) or call the protocol; none tests which engine holds the data."
    offenders = [f"{p.name}:{i}" for p in PKG.glob("*.py") if p.name not in ("engines.py", "_modidx.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if "engine is None" in line or "engine is not None" in line or 'hasattr(ev, ' in line]
    assert not offenders, offenders


def test_methods_are_declared_for_their_class():
    "No method is a bare module function put on a class by assignment: each is declared for its class (`core.method_of`)."
    from mlcompass.engines import EngineEvaluation
    def subclasses(c): return {c} | {s for k in c.__subclasses__() for s in subclasses(k)}
    for cls in [mc.Evaluation, EngineEvaluation, *subclasses(Result)]:
        for name, m in vars(cls).items():
            if inspect.isfunction(m) and not name.startswith("__"):
                assert m.__qualname__.startswith(cls.__name__ + "."), (cls.__name__, name, m.__qualname__)


BAD_INPUTS = { # (frame columns, from_frame arguments): the same message in memory and on an engine, positions aside
    "missing y_pred": (dict(y=[0, 1, 1, 0], p=[0, 1, None, 0]), dict(y_true="y", y_pred="p")),
    "infinite y_true": (dict(y=[0.5, 1.5, np.inf, 0.25], p=[0.5, 1.5, 2.0, 0.0]), dict(y_true="y", y_pred="p")),
    "negative weight": (dict(y=[0, 1, 1, 0], p=[0, 1, 0, 0], w=[1.0, -2.0, 1.0, 1.0]), dict(y_true="y", y_pred="p", sample_weight="w")),
    "missing weight": (dict(y=[0, 1, 1, 0], p=[0, 1, 0, 0], w=[1.0, None, 1.0, 1.0]), dict(y_true="y", y_pred="p", sample_weight="w")),
    "zero weight": (dict(y=[0, 1, 1, 0], p=[0, 1, 0, 0], w=[0.0] * 4), dict(y_true="y", y_pred="p", sample_weight="w")),
    "score out of range": (dict(y=[0, 1, 1, 0], p=[0, 1, 0, 0], s=[0.1, 1.5, 0.2, 0.3]), dict(y_true="y", y_pred="p", y_score="s")),
    "missing score": (dict(y=[0, 1, 1, 0], p=[0, 1, 0, 0], s=[0.1, None, 0.2, 0.3]), dict(y_true="y", y_pred="p", y_score="s")),
    "one score, three classes": (dict(y=[0, 1, 2, 0], p=[0, 1, 2, 0], s=[0.1, 0.9, 0.2, 0.3]), dict(y_true="y", y_pred="p", y_score="s")),
    "scores not summing to 1": (dict(y=[0, 1, 1, 0], p=[0, 1, 1, 0], a=[0.9, 0.2, 0.3, 0.8], b=[0.1, 0.9, 0.7, 0.2]),
                                dict(y_true="y", y_pred="p", y_score=["a", "b"])),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_one_set_of_input_checks(case):
    "The in-memory path and an engine refuse the same input with the same message (an engine cannot locate the rows)."
    pl = pytest.importorskip("polars")
    cols, kw = BAD_INPUTS[case]
    df = pd.DataFrame(cols)
    msgs = []
    for frame in (df, pl.from_pandas(df)):
        with pytest.raises(ValueError) as e: quiet(lambda: mc.Evaluation.from_frame(frame, **kw))
        msgs.append(str(e.value))
    import re
    def strip(m): # positions (in memory) and "not located" (engine) aside, and the row sums only memory can show
        m = re.sub(r"first at position\(s\) (\(not located[^)]*\)|[0-9, .]*?)(?= \(|\.( |$))", "first at ...", m)
        return re.sub(r" \(sums [^)]*\)", "", m)
    a, b = strip(msgs[0]), strip(msgs[1])
    assert a == b, msgs
