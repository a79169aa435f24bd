"""End to end: `mlcompass report` on a CSV, against the API's own figures; exit codes; offline HTML; escaping; injection."""
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc

INJECTION = "\"; import os; os.system('touch pwned') #"
SCRIPT = "<script>alert(1)</script>"
GATES = """
[gates]
min_overall = { accuracy = 0.8 }
min_slice = { accuracy = 0.6 }
by = ["sex", "race"]
max_disparity = { selection_rate = 0.5 }
sensitive = ["sex"]
min_gain_over_trivial = { accuracy = 0.02 }
max_regression = { accuracy = 0.01 }
"""


def cli(*args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "mlcompass.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    "Predictions of a real model on a sample of the Adult test split, with a second annotator and a previous model."
    from sklearn.ensemble import HistGradientBoostingClassifier
    d = tmp_path_factory.mktemp("report")
    train = mc.datasets.load_adult("train").sample(8000, random_state=0)
    test = mc.datasets.load_adult("test").sample(3000, random_state=1).reset_index(drop=True)
    feats = ["age", "education-num", "hours-per-week", "capital-gain"]
    def fit(it): return HistGradientBoostingClassifier(max_iter=it, random_state=0).fit(train[feats], train["income"])
    cur, prev = fit(60), fit(3)
    df = test[["sex", "race", "age"]].copy()
    df["race"] = df["race"].astype(object).where(df["race"] != "Black", SCRIPT)  # a hostile category value
    df["label"] = test["income"].to_numpy()
    p = cur.predict_proba(test[feats])[:, 1]
    df["pred"], df["proba"] = np.where(p >= 0.5, ">50K", "<=50K"), p
    rng = np.random.default_rng(0)
    df["annotator"] = np.where(rng.random(len(df)) < 0.08, np.where(df["label"] == ">50K", "<=50K", ">50K"), df["label"])
    df.to_csv(d / "preds.csv", index=False)
    pp = prev.predict_proba(test[feats])[:, 1]
    df.assign(pred=np.where(pp >= 0.5, ">50K", "<=50K"), proba=pp).to_parquet(d / "previous.parquet")
    (d / "gates.toml").write_text(GATES)
    return d


BASE = ["--predictions", "preds.csv", "--y-true", "label", "--y-pred", "pred", "--y-score", "proba", "--pos-label", ">50K",
        "--by", "sex", "race", "age", "--sensitive", "sex", "--no-progress"]


@pytest.fixture(scope="module")
def first(work):
    res = cli("report", *BASE, "--human-labels", "annotator", "--literature", "0.84:Kohavi 1996:https://archive.ics.uci.edu/dataset/2/adult",
              "--previous", "previous.parquet", "--gates", "gates.toml", "--title", INJECTION, "--log", "first",
              "--store", "runs.db", "--out", "out", cwd=work)
    if (work / "out" / "summary.json").exists(): # kept: later tests rewrite out/
        (work / "first-summary.json").write_text((work / "out" / "summary.json").read_text())
    return res


def test_exit_code_and_files(work, first):
    assert first.returncode == 0, first.stderr[-3000:]
    out = work / "out"
    assert {p.name for p in out.iterdir()} >= {"report.ipynb", "report.html", "summary.json"}
    assert first.stdout.strip() == str(out / "report.html")
    assert "gates PASSED" in first.stderr


def test_summary_matches_the_api(work, first):
    s = json.loads((work / "out" / "summary.json").read_text())
    df = pd.read_csv(work / "preds.csv")
    ev = mc.report.load_evaluation(df, y_true="label", y_pred="pred", y_score="proba", pos_label=">50K", features=["sex", "race", "age"])
    overall = ev.metrics().to_frame()
    for m, row in overall.iterrows():
        for c in ("value", "ci_low", "ci_high"):
            assert s["overall"][m][c] == pytest.approx(row[c], abs=1e-12), (m, c)
    prev = mc.report.load_evaluation(work / "previous.parquet", y_true="label", y_pred="pred", y_score="proba", pos_label=">50K", features=[])
    gates = mc.Gates.from_file(work / "gates.toml")
    checked = ev.check(gates, previous=mc.PreviousSystem(prev, name="previous"), sensitive=["sex"])
    got = pd.DataFrame(s["gates"]["results"])
    want = checked.to_frame()
    assert list(got["status"]) == list(want["status"]) and s["gates"]["passed"] == checked.passed
    np.testing.assert_allclose(got["value"].astype(float), want["value"].astype(float), rtol=0, atol=1e-12)
    fair = ev.fairness(sensitive=["sex"])
    for name, row in fair.disparities().iterrows():
        assert s["fairness"]["disparities"][name]["difference"] == pytest.approx(row["difference"], abs=1e-12)
    hl = mc.HumanLevel.from_labels(df[["annotator"]])
    cmp = mc.compare(ev, [hl, mc.PreviousSystem(prev, name="previous")], metric="accuracy").to_frame().iloc[0]
    assert s["previous"]["change"] == pytest.approx(cmp["previous_change"], abs=1e-12)
    assert s["gaps"]["human-level"] == pytest.approx(cmp["gap_to_human-level"], abs=1e-12)
    assert s["run_id"] >= 1 and len(mc.runs(store=work / "runs.db")) == 1
    reg = mc.regressions(ev, mc.PreviousSystem(prev, name="previous"), by=["sex", "race", "age"], seed=0)  # the report's by + sensitive
    assert s["regressions"]["searched"] == reg.stats["searched"]
    assert [r["slice"] for r in s["regressions"]["slices"]] == reg.folded()["slice"].tolist()
    assert mc.report.read_summary(work / "out" / "report.ipynb")["overall"] == s["overall"]


def test_title_is_data_not_code(work, first):
    s = json.loads((work / "out" / "summary.json").read_text())
    assert s["title"] == INJECTION
    assert not (work / "pwned").exists() and not (work / "out" / "pwned").exists()
    page = (work / "out" / "report.html").read_text()
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    assert html.unescape(heading) == INJECTION


def test_html_is_offline_and_escaped(work, first):
    page = (work / "out" / "report.html").read_text()
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"<script[^>]+src=[\"']?https?:", page) and not re.search(r"<link[^>]+href=[\"']?https?:", page)
    assert "data:image/png;base64" in page


def test_failing_gate_exits_1_and_overwrite(work, first):
    before = (work / "out" / "summary.json").read_text()
    again = cli("report", *BASE, "--out", "out", cwd=work)
    assert again.returncode == 2 and "already exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert (work / "out" / "summary.json").read_text() == before
    (work / "strict.toml").write_text("min_overall = { accuracy = 0.99 }\nmax_regression = { accuracy = 0.0 }\nmax_latency_ms = 20\n")
    (work / "latency.json").write_text(json.dumps({"p50_ms": 12.0, "p95_ms": 31.5, "p99_ms": 40.0, "calls": 100, "batch_size": 1}))
    res = cli("report", *BASE, "--gates", "strict.toml", "--latency", "latency.json", "--previous", "last", "--store", "runs.db",
              "--out", "out", "--overwrite", cwd=work)
    assert res.returncode == 1, res.stderr[-2000:]
    s = json.loads((work / "out" / "summary.json").read_text())
    st = {r["gate"]: r["status"] for r in s["gates"]["results"]}
    assert st == {"min overall": "fail", "max regression": "pass", "max latency": "fail"}  # same predictions as the logged run: no change
    assert s["previous"]["change"] == 0
    lat = next(r for r in s["gates"]["results"] if r["gate"] == "max latency")  # the measurement passed by --latency, compared as it is
    assert (lat["metric"], lat["value"], lat["threshold"], lat["tested"], lat["n"]) == ("p95_ms", 31.5, 20.0, "measurement", 100)


@pytest.mark.parametrize("args, message", [
    (["--predictions", "nope.csv"], "predictions '{d}/nope.csv' does not exist."),
    (["--predictions", "preds.csv", "--y-true", "label", "--y-pred", "prediction"], "has no column 'prediction' (given as --y-pred)"),
    (["--predictions", "preds.csv"], "has no column 'y_true' (given as --y-true); its columns: sex, race, age, label, pred, proba, annotator."),
    (["--predictions", "bad.parquet"], "could not be read as Parquet"),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--pos-label", ">50K", "-p", "colour=red"], "has no parameter 'colour'"),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--y-score", "proba"], "pos_label is required"),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--pos-label", ">50K", "--gates", "bad.toml"], "could not be read"),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--pos-label", ">50K", "--previous", "nightly", "--store", "runs.db"], "no run 'nightly'"),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--pos-label", ">50K", "--literature", "high:me"], "must read 'value:source[:url]'"),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--pos-label", ">50K", "--latency", "nope.json"],
     "latency file '{d}/nope.json' does not exist."),
    (["--predictions", "preds.csv", "--y-pred", "pred", "--y-true", "label", "--pos-label", ">50K", "--latency", "bad.toml"],
     "could not be read as JSON"),
])
def test_bad_input_exits_2_with_one_line(work, first, args, message):
    (work / "bad.parquet").write_text("not a parquet file")
    (work / "bad.toml").write_text("min_overall = {accuracy = }")
    res = cli("report", *args, "--out", "bad-out", cwd=work)
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
    assert message.format(d=work) in res.stderr, res.stderr
    assert not (work / "bad-out" / "report.ipynb").exists()


def test_usage_and_help(work):
    assert cli("report", "--bogus", cwd=work).returncode == 2
    h = cli("report", "--help", cwd=work)
    assert h.returncode == 0 and "--predictions FILE" in h.stdout and "Exit codes" in h.stdout


def test_gate_files_agree(tmp_path):
    (tmp_path / "g.toml").write_text(GATES)
    (tmp_path / "g.yaml").write_text("min_overall: {accuracy: 0.8}\nmin_slice: {accuracy: 0.6}\nby: [sex, race]\n"
                                     "max_disparity: {selection_rate: 0.5}\nsensitive: [sex]\nmin_gain_over_trivial: {accuracy: 0.02}\n"
                                     "max_regression: {accuracy: 0.01}\n")
    assert mc.Gates.from_file(tmp_path / "g.toml").to_dict() == mc.Gates.from_file(tmp_path / "g.yaml").to_dict()
    with pytest.raises(ValueError, match="unknown setting 'min_acc'"):
        mc.Gates.from_dict({"min_acc": 0.8})


def test_documented_ci_files_parse():
    import yaml
    root = Path(__file__).resolve().parents[1]
    wf = yaml.safe_load((root / "docs" / "github-actions-report.yml").read_text())
    steps = wf["jobs"]["report"]["steps"]
    assert any("mlcompass report" in s.get("run", "") for s in steps) and any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    assert mc.Gates.from_file(root / "docs" / "gates.toml").thresholds["max_regression"] == {"accuracy": 0.005}


def _differences(a, b, path="", approx=()):
    "Where two summaries differ: numbers beyond rounding (or beyond a looser tolerance under keys in `approx`), other values."
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        return out + [d for k in a if k in b for d in _differences(a[k], b[k], f"{path}/{k}", approx)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]", approx)]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        tol = next((t for key, t in approx if key in path), 1e-9)
        return [] if abs(a - b) <= tol * max(1, abs(a)) else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_engine_report_equals_pandas(work, first, engine):
    """The report computed in DuckDB or Polars, reading the files in place (the previous model's file matched row by row, the
    annotator's column scored in the engine), has the pandas report's figures; ROC AUC within its binned bound."""
    res = cli("report", *BASE, "--human-labels", "annotator", "--literature", "0.84:Kohavi 1996:https://archive.ics.uci.edu/dataset/2/adult",
              "--previous", "previous.parquet", "--gates", "gates.toml", "--title", INJECTION, "--engine", engine,
              "--store", f"runs-{engine}.db", "--log", engine, "--out", f"out-{engine}", cwd=work)
    assert res.returncode == first.returncode, res.stderr
    a, b = json.loads((work / "first-summary.json").read_text()), json.loads((work / f"out-{engine}" / "summary.json").read_text())
    for s in (a, b): s.pop("created"); s.pop("parameters")
    # counts, confusion-count metrics, Wilson intervals, paired changes, gates: equal; ROC AUC: binned (within its bound, < 0.002 here);
    # bootstrap intervals of F1 and ROC AUC: the engine's draws are of cells and histograms, pandas draws rows with the scores
    diffs = _differences(a, b, approx=[("roc_auc", 5e-3), ("f1/ci", 1e-2)])
    assert not diffs, "\n".join(diffs)
    if engine == "duckdb": # a run stored from pandas is the previous system of a DuckDB report: its predictions file, matched row by row
        res = cli("report", *BASE, "--engine", engine, "--previous", "first", "--store", "runs.db", "--out", "out-stored", cwd=work)
        assert res.returncode == 0, res.stderr
        s = json.loads((work / "out-stored" / "summary.json").read_text())
        assert s["previous"]["change"] == 0 and "run 1 'first' of runs.db" in s["previous"]["source"]
