"""One significance rule: every highlighted cell of every result agrees with the p-values and flags of its own table, gates
say which figure they test, the planted failure is found and the noise is not, fairness names the groups behind each
disparity, and data text is drawn literally."""
import html.parser
import pathlib
import re
import warnings

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import mlcompass as mc
from mlcompass.stats import verdict, ALPHA

ART = pathlib.Path(__file__).parent.parent / "test-artifacts"


def quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


class Cells(html.parser.HTMLParser):
    "The rows of the HTML tables: (header, [(text, state, title), ...])."
    def __init__(self):
        super().__init__()
        self.tables, self.row, self.cell, self.in_head = [], None, None, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table": self.tables.append({"header": [], "rows": []})
        elif tag == "thead": self.in_head = True
        elif tag == "tbody": self.in_head = False
        elif tag == "tr": self.row = []
        elif tag in ("td", "th"):
            state = next((c[3:] for c in (a.get("class") or "").split() if c.startswith("mc-")), "")
            self.cell = ["", state, a.get("title") or ""]
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None: self.row.append(tuple(self.cell)); self.cell = None
        elif tag == "tr" and self.row is not None and self.tables:
            t = self.tables[-1]
            if self.in_head: t["header"] = [c[0] for c in self.row]
            else: t["rows"].append(self.row)
            self.row = None
    def handle_data(self, data):
        if self.cell is not None: self.cell[0] += data


def tables(result):
    p = Cells(); p.feed(result._repr_html_()); return p.tables


def p_of(text):
    text = text.strip()
    if text.startswith("<"): return float(text[1:]) / 2
    try: return float(text)
    except ValueError: return np.nan


def title_p(title):
    m = re.search(r"adjusted p (= |< )([0-9.]+)", title)
    if not m: return np.nan
    return float(m.group(2)) / 2 if m.group(1) == "< " else float(m.group(2))


@pytest.fixture(scope="module")
def planted():
    "A model that fails on site == 'C' (planted), and a small, non-significant dip on age_group == '40-60' (noise)."
    rng = np.random.default_rng(7)
    n = 4000
    site = rng.choice(["A", "B", "C", "D"], n, p=[0.35, 0.35, 0.15, 0.15])
    age = rng.choice(["<40", "40-60", "60+"], n)
    y = rng.integers(0, 2, n)
    flip = rng.random(n) < np.where(site == "C", 0.30, np.where(age == "40-60", 0.085, 0.08))
    pred = np.where(flip, 1 - y, y)
    score = np.clip(np.where(pred == 1, 0.7, 0.3) + rng.normal(0, 0.1, n), 0, 1)
    tiny = np.where(rng.random(n) < 0.003, "tiny", "big") # a group of about 12 examples
    return mc.Evaluation(y, pred, y_score=score, data={"site": site, "age_group": age, "tiny": tiny, "x": rng.normal(size=n)})


RESULTS = {
    "slices": lambda ev: ev.slices(by=["site", "age_group", "tiny"]),
    "slices, depth 2": lambda ev: ev.slices(by=["site", "age_group"], max_depth=2, metrics=["recall", "accuracy"]),
    "discover": lambda ev: ev.discover(by=["site", "age_group", "x"]),
    "compare": lambda ev: ev.compare([mc.HumanLevel(0.93, per_slice={"site == 'C'": 0.93, "site == 'A'": 0.925}),
                                      mc.PreviousSystem(np.where(np.arange(ev.n) % 7 == 0, 1 - ev.y_pred, ev.y_pred))],
                                     by=["site", "age_group"]),
    "fairness": lambda ev: ev.fairness("site"),
    "classes": lambda ev: ev.classes(),
    "gates": lambda ev: ev.check(mc.Gates(min_overall={"accuracy": 0.9}, min_slice={"accuracy": 0.85}, by="site")),
    "sanity": lambda ev: mc.sanity(ev=ev),
    "milestones": lambda ev: mc.milestones(train=0.95, dev=0.9, test=0.88, human=0.97),
    "discover tree": lambda ev: ev.discover("tree", by=["site", "age_group", "x"], max_depth=3),
    "curves": lambda ev: ev.curves("pr"),
    "findings": lambda ev: ev.findings([mc.HumanLevel(0.93)], by=["site", "age_group"]),
}


@pytest.mark.parametrize("name", RESULTS)
def test_every_highlight_agrees_with_its_table(planted, name):
    "worse/better only where the row's (or the cell's) adjusted p-value is below alpha; small only where n is below `small`."
    r = quiet(lambda: RESULTS[name](planted))
    seen = set()
    for t in tables(r):
        header = t["header"]
        pcol = next((i for i, h in enumerate(header) if h == "p" or h.startswith("p (")), None)
        ncol = header.index("n") if "n" in header else None
        for row in t["rows"]:
            for j, (text, state, title) in enumerate(row):
                seen.add(state)
                if state in ("worse", "better"):
                    p = title_p(title) if title_p(title) == title_p(title) else (p_of(row[pcol][0]) if pcol is not None else np.nan)
                    assert p < ALPHA, (name, header[j] if j < len(header) else j, text, title, row)
                if state == "small" and j == 0 and ncol is not None:
                    assert int(row[ncol][0].replace(",", "")) < 30, (name, row)
    assert seen <= {"", "worse", "better", "small", "pass", "fail", "flag", "focus"}


def test_slice_verdicts_follow_the_rule(planted):
    sf = quiet(lambda: planted.slices(by=["site", "age_group", "tiny"]))
    f = sf.to_frame()
    expect = verdict(f["accuracy_gap"], f["p_value"], np.where(f["too_small"], 0, np.inf))
    assert f["verdict"].tolist() == list(expect)
    v = f.set_index("slice")["verdict"]
    assert v["site == 'C'"] == "worse"  # the planted failure
    assert v["age_group == '40-60'"] == ""  # the noise
    assert v["tiny == 'tiny'"] == "small"  # 12 examples are not evidence
    # a row painted worse in the HTML is exactly a row whose verdict is worse
    rows = {row[0][0]: row for row in tables(sf)[0]["rows"]}
    for s, want in v.items():
        assert rows[s][3][1] == want, s


def test_a_discovered_slice_at_the_ceiling_is_not_red():
    "A slice at 1.000 [0.97, 1.00] is better than the rest, never painted as a failure."
    rng = np.random.default_rng(3)
    n = 3000
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    pred = np.where((g != "a") & (rng.random(n) < 0.25), 1 - y, y)
    d = quiet(lambda: mc.Evaluation(y, pred, data={"g": g}).discover(by=["g"]))
    f = d.to_frame().set_index("slice")
    if "g == 'a'" in f.index: assert f.loc["g == 'a'", "verdict"] != "worse"
    for row in tables(d)[0]["rows"]:
        if row[0][0] == "g == 'a'": assert row[5][1] != "worse"


def test_work_first_names_only_supported_gaps(planted):
    mid = (planted.data["age_group"] == "40-60").to_numpy()
    ref = float((planted.y_true[mid] == planted.y_pred[mid]).mean()) + 0.007 # a 0.7-point gap, inside the model's interval
    cmp = quiet(lambda: planted.compare([mc.HumanLevel(0.93, per_slice={"site == 'C'": 0.93, "age_group == '40-60'": ref})],
                                        by=["site", "age_group"]))
    f = cmp.to_frame().set_index("slice")
    assert f.loc["site == 'C'", "gap_verdict"] == "worse"
    assert f.loc["age_group == '40-60'", "gap_verdict"] == ""
    s = cmp.summary()
    assert "Work first on site == 'C'" in s and "40-60" not in s.split("Work first on")[1]
    lo, hi = f.loc["site == 'C'", ["potential_gain_ci_low", "potential_gain_ci_high"]]
    assert lo <= f.loc["site == 'C'", "potential_gain"] <= hi
    # nothing supported: the summary says so instead of naming a slice
    cmp2 = quiet(lambda: planted.compare([mc.HumanLevel(ref, per_slice={"age_group == '40-60'": ref})], by=["age_group"]))
    assert "Work first" not in cmp2.summary() and "Nothing stands out" in cmp2.summary()


@pytest.mark.parametrize("judge, status", [("interval", "pass"), ("strict", "fail"), ("point", "fail")])
def test_gates_say_which_figure_they_test(planted, judge, status):
    acc = planted.metrics(["accuracy"]).to_frame().loc["accuracy"]
    t = float(acc["value"] + (acc["ci_high"] - acc["value"]) / 2)  # above the estimate, inside the interval
    res = quiet(lambda: planted.check(mc.Gates(min_overall={"accuracy": t}, max_overall={"accuracy": float(acc["ci_low"]) - 0.001}, judge=judge)))
    f = res.to_frame().set_index("gate")
    assert f.loc["min overall", "status"] == status
    assert f.loc["min overall", "tested"] == {"interval": "upper end", "strict": "lower end", "point": "estimate"}[judge]
    # a maximum below the interval: fails whatever the judge
    assert f.loc["max overall", "status"] == "fail"
    states = {row[0][1] for row in tables(res)[0]["rows"]}
    assert states <= {"pass", "fail", "small"}
    assert "judge=" in res._repr_html_()


@pytest.mark.parametrize("judge", ["interval", "strict", "point"])
def test_a_latency_gate_compares_the_measurement(planted, judge):
    "Latency is measured, not sampled: the measured p95 against the threshold as it is, under every judge; no interval, no colour but pass/fail."
    lat = {"p50_ms": 8.0, "p95_ms": 12.5, "p99_ms": 30.0, "mean_ms": 9.0, "calls": 200, "batch_size": 1}
    res = quiet(lambda: planted.check(mc.Gates(min_overall={"accuracy": 0.5}, max_latency_ms={"p95_ms": 12.0, "p99_ms": 50}, judge=judge),
                                      latency=lat))
    f = res.to_frame().set_index("metric")
    assert f.loc["p95_ms", "status"] == "fail" and f.loc["p99_ms", "status"] == "pass" and not res.passed
    assert set(f.loc[["p95_ms", "p99_ms"], "tested"]) == {"measurement"} and f.loc[["p95_ms", "p99_ms"], ["ci_low", "ci_high"]].isna().all().all()
    assert f.loc["p95_ms", "value"] == 12.5 and f.loc["p95_ms", "n"] == 200 and f.loc["p95_ms", "gate"] == "max latency"
    assert f.loc["p95_ms", "detail"] == "the measured p95 is above 12 ms: p95 of 200 calls of one example, on the machine that ran mc.measure_latency"
    assert any("latency is measured, not sampled" in n for n in res.notes)
    assert {row[0][1] for row in tables(res)[0]["rows"]} <= {"pass", "fail"}
    assert len(res.plot().patches) == 1  # the plot keeps to the metric's units: the latency gates are in the table only
    plt.close("all")
    skipped = quiet(lambda: planted.check(mc.Gates(max_latency_ms=12.0, judge=judge)))  # no measurement: skipped, and strict fails it
    assert skipped.to_frame()["status"].tolist() == ["skipped"] and skipped.passed
    assert not quiet(lambda: planted.check(mc.Gates(max_latency_ms=12.0, strict=True))).passed


def test_a_bad_judge_is_named():
    with pytest.raises(ValueError, match=r"Gates judge='lenient' is not one of \['interval', 'strict', 'point'\]"):
        mc.Gates(min_overall=0.9, judge="lenient")


def test_regression_gate_follows_the_judge(planted):
    prev = np.where(np.arange(planted.n) % 50 == 0, 1 - planted.y_pred, planted.y_pred)  # the model is slightly better
    lenient = quiet(lambda: planted.check(mc.Gates(max_regression={"accuracy": 0.0}), previous=mc.PreviousSystem(prev)))
    assert lenient.passed


COMPAS = pathlib.Path(__file__).parent.parent.parent / "shared" / "data" / "compas"


@pytest.fixture(scope="module")
def compas():
    d = mc.datasets.load_compas()
    return mc.Evaluation.from_frame(d.assign(pred=(d.decile_score >= 5).astype(int)), y_true="two_year_recid", y_pred="pred",
                                    features=["race", "sex", "age_cat"])


def test_fairness_names_the_groups_and_gives_intervals(compas):
    from fairlearn.metrics import MetricFrame, true_positive_rate
    fr = quiet(lambda: compas.fairness("race"))
    d = fr.disparity_frame.set_index("disparity")
    eo = d.loc["equal opportunity"]
    assert eo["difference_ci_low"] <= eo["difference"] <= eo["difference_ci_high"]
    assert eo["high_group"] == "African-American" and eo["verdict"] == "worse"
    # the difference over the judged groups is fairlearn's between-groups difference over those groups
    judged = eo["groups_judged"].split(", ")
    keep = compas.data["race"].isin(judged).to_numpy()
    mf = quiet(lambda: MetricFrame(metrics=true_positive_rate, y_true=compas.y_true[keep], y_pred=compas.y_pred[keep],
                                   sensitive_features=compas.data["race"][keep]))
    assert abs(mf.difference() - eo["difference"]) < 1e-12
    g = fr.groups.set_index("group")
    assert {"n", "base_rate"} <= set(g.columns) and g.loc["Native American", "too_small"]
    s = fr.summary()
    assert s.startswith("Disparities the data supports") and "African-American" in s


def test_a_zero_false_positive_group_is_not_the_worst_disparity():
    "One group has no false positives (the best outcome): the ratio says so instead of being painted as the worst disparity."
    rng = np.random.default_rng(0)
    n = 1200
    g = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(y == 1, (rng.random(n) < 0.8).astype(int), np.where(g == "a", 0, (rng.random(n) < 0.1).astype(int)))
    fr = quiet(lambda: mc.Evaluation(y, pred, data={"g": g}).fairness("g"))
    eo = fr.disparity_frame.set_index("disparity").loc["equalized odds"]
    assert eo["ratio"] == 0 and "no" not in eo["ratio_low_group"] and "says nothing about harm" in eo["note"]
    cells = [row for t in tables(fr) for row in t["rows"] if row[0][0] == "equalized odds"][0]
    assert cells[2][1] != "worse" or cells[2][0].startswith("0.") # the ratio cell is never red
    assert all(c[1] != "worse" for c in cells[3:5])


def test_data_text_is_drawn_literally(tmp_path):
    "A value such as $x^{$ reaches matplotlib escaped: drawing does not raise."
    rng = np.random.default_rng(0)
    n = 400
    g = rng.choice(["$x^{$", "plain"], n)
    y = rng.integers(0, 2, n)
    ev = mc.Evaluation(y, np.where(rng.random(n) < 0.2, 1 - y, y), data={"g": g})
    for r in (ev.slices(by="g"), quiet(lambda: ev.fairness("g")), ev.compare([mc.HumanLevel(0.9)], by="g"), ev.classes()):
        ax = quiet(r.plot)
        ax.figure.savefig(tmp_path / "x.png")
        plt.close("all")


def test_every_chart_is_saved_for_a_look(planted):
    "Draw every result's chart on the planted data and keep the images under test-artifacts/ for a human look."
    ART.mkdir(exist_ok=True)
    for name, make in RESULTS.items():
        r = quiet(lambda: make(planted))
        ax = quiet(r.plot)
        ax.figure.savefig(ART / f"chart-{name.replace(' ', '-').replace(',', '')}.png", dpi=80, bbox_inches="tight")
        plt.close("all")
    assert len(list(ART.glob("chart-*.png"))) >= len(RESULTS)


# -- findings --------------------------------------------------------------------------------------------------------------

def test_findings_keep_the_planted_failure_and_drop_the_noise(planted):
    fs = quiet(lambda: planted.findings([mc.HumanLevel(0.93)], by=["site", "age_group", "tiny"]))
    f = fs.to_frame()
    assert list(f.columns)[:9] == ["question", "finding", "metric", "value", "ci_low", "ci_high", "p_value", "severity", "code"]
    assert f["question"].tolist() == sorted(f["question"], key=["good enough", "where it fails", "what next"].index)
    fails = f[f["question"] == "where it fails"]["finding"]
    assert fails.str.contains("site == 'C'").any()
    assert not f["finding"].str.contains("40-60|tiny").any()  # the noise and the 12-example group are not findings
    assert (f.loc[f["p_value"].notna(), "p_value"] < ALPHA).all()  # nothing that fails the rule
    nxt = f[f["question"] == "what next"].iloc[0]
    assert "site == 'C'" in nxt["finding"] and nxt["effect_ci_low"] <= nxt["effect"] <= nxt["effect_ci_high"]
    html = fs._repr_html_()
    assert html.index("Is it good enough?") < html.index("Where does it fail?") < html.index("What next?")
    assert "<table" not in html  # a short block, not another wide table


def test_findings_when_nothing_stands_out():
    rng = np.random.default_rng(1)
    n = 2000
    y = rng.integers(0, 2, n)
    ev = mc.Evaluation(y, np.where(rng.random(n) < 0.1, 1 - y, y), data={"g": rng.choice(list("abc"), n)})
    f = quiet(lambda: ev.findings([mc.HumanLevel(0.9)], by="g")).to_frame()
    assert not (f["question"] == "where it fails").any()
    assert f.loc[f["question"] == "what next", "finding"].iloc[0].startswith("No slice stands out")


def test_findings_on_compas_name_the_groups(compas):
    f = quiet(lambda: compas.findings([mc.HumanLevel(0.7)], by=["age_cat"], sensitive="race")).to_frame()
    dis = f[f["finding"].str.startswith("Disparity")]
    assert len(dis) and dis["finding"].str.contains("African-American").any()
    assert dis["ci_low"].notna().all() and (dis["ci_low"] <= dis["value"]).all()


def test_findings_with_gates_and_a_previous_system(planted):
    prev = mc.PreviousSystem(np.where(np.arange(planted.n) % 20 == 0, 1 - planted.y_true, planted.y_true), name="v1")  # 95% right: better
    fs = quiet(lambda: planted.findings([mc.HumanLevel(0.93), prev], by=["site"], gates=mc.Gates(min_overall={"accuracy": 0.95}),
                                        discover=False))
    good = fs.to_frame().query("question == 'good enough'")["finding"]
    assert good.iloc[0].startswith("Not yet: 1 of 1 quality gates fail")
    assert good.str.contains("Worse than v1 overall").any()


def test_findings_on_an_engine_equal_memory(planted):
    pl = pytest.importorskip("polars")
    df = pd.DataFrame({"y": planted.y_true, "p": planted.y_pred, "site": planted.data["site"], "age_group": planted.data["age_group"]})
    args = dict(y_true="y", y_pred="p", features=["site", "age_group"])
    a = quiet(lambda: mc.Evaluation.from_frame(df, **args).findings([mc.HumanLevel(0.93)], by=["site", "age_group"])).to_frame()
    b = quiet(lambda: mc.Evaluation.from_frame(pl.from_pandas(df), **args).findings([mc.HumanLevel(0.93)], by=["site", "age_group"])).to_frame()
    assert a["finding"].tolist() == b["finding"].tolist()


def test_findings_on_adult_with_weights():
    "The Adult example, weighted, with missing values: every finding passes the rule and names real slices."
    from test_engines import adult_predictions
    d = adult_predictions()
    ev = mc.Evaluation.from_frame(d, y_true="y", y_pred="pred", y_score="score", sample_weight="w",
                                  features=["age", "education", "sex", "race", "hours-per-week"])
    fs = quiet(lambda: ev.findings([mc.HumanLevel(0.85)], by=["age", "education", "hours-per-week"], sensitive=["sex", "race"]))
    f = fs.to_frame()
    assert (f["question"] == "where it fails").any() and (f["question"] == "what next").any()
    tested = f[f["p_value"].notna()]
    assert (tested["p_value"] < ALPHA).all()
    assert f["finding"].str.contains("Disparity").any()


def test_errors_only_tagging_gives_the_error_analysis(planted, tmp_path):
    wrong = np.flatnonzero(planted.t != planted.p)[:60]
    tags = ["blurry" if i % 3 else "blurry|dark" for i in range(len(wrong))]
    pd.DataFrame({"id": [str(i) for i in wrong], "tags": tags, "note": ""}).to_csv(tmp_path / "tags.csv", index=False)
    view = mc.with_tags(planted, tmp_path / "tags.csv")
    et = quiet(lambda: mc.compare(view, [mc.HumanLevel(0.93)], by="tags"))
    assert isinstance(et, mc.ErrorTags) and et.summary().startswith("The tagged examples are errors (100% of 60)")
    f = et.to_frame().set_index("tag")
    assert f.loc["blurry", "errors"] == 60 and f.loc["dark", "errors"] == 20  # both tags count, no 'blurry|dark' category
    assert f.loc["blurry", "share_of_errors"] == 1.0
    er = float((planted.t != planted.p).mean())
    assert abs(f.loc["dark", "ceiling"] - er / 3) < 1e-12
    # tags on a mix of right and wrong examples: the ordinary comparison
    mixed = list(range(60))
    pd.DataFrame({"id": [str(i) for i in mixed], "tags": "reviewed", "note": ""}).to_csv(tmp_path / "mixed.csv", index=False)
    cmp = quiet(lambda: mc.compare(mc.with_tags(planted, tmp_path / "mixed.csv"), [mc.HumanLevel(0.93)], by="tags"))
    assert isinstance(cmp, mc.BaselineComparison)
