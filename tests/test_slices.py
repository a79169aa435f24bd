"""Slicing behaviour: binning, missing values, high cardinality, flags, display, the example and the import budget."""
import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc


@pytest.fixture
def ev():
    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.2, 1 - y, y)
    age = rng.integers(18, 80, n).astype(float)
    age[:25] = np.nan
    city = rng.choice(["paris", "lyon", "nice"], n).astype(object)
    city[30:40] = None
    return mc.Evaluation(y, pred, data={"age": age, "city": city, "id": np.arange(n).astype(str)})


def test_missing_values_form_their_own_slice(ev):
    f = ev.slices(by=["age", "city"], metrics=["accuracy"]).to_frame()
    miss = f[f["slice"] == "age is missing"]
    assert miss["n"].item() == 25
    assert f[f["slice"] == "city is missing"]["n"].item() == 10
    assert f.loc[f["city"].notna(), "n"].sum() == ev.n  # nothing dropped
    assert f.loc[f["age"].notna(), "n"].sum() == ev.n


def test_numeric_columns_are_quantile_binned(ev):
    f = ev.slices(by="age", bins=4, metrics=["accuracy"]).to_frame()
    binned = f[f["age"] != mc.MISSING]
    assert len(binned) == 4
    assert binned["n"].max() - binned["n"].min() < 0.1 * ev.n
    assert binned["slice"].iloc[0].startswith("18 <= age < ")
    assert binned["slice"].iloc[-1].endswith("<= age <= 79")


def test_user_edges_keep_values_outside_them(ev):
    f = ev.slices(by="age", bins=[30, 50], metrics=["accuracy"]).to_frame()
    assert f["slice"].tolist() == ["age < 30", "30 <= age <= 50", "age > 50", "age is missing"]
    assert f["n"].sum() == ev.n


def test_high_cardinality_is_guarded(ev):
    with pytest.warns(UserWarning, match=r"by='id' has 600 distinct values; keeping the 9 most frequent"):
        f = ev.slices(by="id", max_values=10, metrics=["accuracy"]).to_frame()
    assert len(f) == 10 and f["id"].iloc[-1] == mc.OTHER and f["n"].sum() == ev.n


def test_combinations_up_to_max_depth(ev):
    sf = ev.slices(by=["age", "city"], max_depth=2, metrics=["accuracy"])
    f = sf.to_frame()
    assert set(f["depth"]) == {1, 2}
    both = f[f["depth"] == 2]
    assert both["n"].sum() == ev.n and both["age"].notna().all() and both["city"].notna().all()
    assert (both["slice"].str.count(" & ") == 1).all()


def test_too_small_and_min_support(ev):
    sf = ev.slices(by=["city"], small=100, metrics=["accuracy"])
    f = sf.to_frame()
    assert f.loc[f["slice"] == "city is missing", "too_small"].item()
    assert not f.loc[f["slice"] == "city == 'lyon'", "too_small"].item()
    sf = ev.slices(by=["city"], min_support=11, metrics=["accuracy"])
    assert sf.hidden == 1 and "city is missing" not in set(sf.to_frame()["slice"])
    assert "1 slices with fewer than min_support=11 rows are not listed." in sf._repr_html_()


def test_columns_and_gap(ev):
    sf = ev.slices(by="city", metrics=["accuracy", "f1"])
    f = sf.to_frame()
    assert list(f.columns) == ["slice", "depth", "city", "n", "share", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
                               "accuracy_gap", "accuracy_support", "f1", "f1_ci_low", "f1_ci_high", "f1_gap", "p_value", "too_small", "verdict"]
    assert np.allclose(f["accuracy_gap"], f["accuracy"] - sf.overall["accuracy"])
    assert f["share"].sum() == pytest.approx(1)
    assert sf.tested_metric == "accuracy"


def test_no_intervals(ev):
    f = ev.slices(by="city", ci=None, metrics=["accuracy", "f1"]).to_frame()
    assert "accuracy_ci_low" not in f.columns and "p_value" in f.columns


def test_weighted_counts():
    ev = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], data={"g": list("aabb")}, sample_weight=[1, 3, 1, 1])
    f = ev.slices(by="g", metrics=["accuracy"]).to_frame()
    assert f["n"].tolist() == [2, 2] and f["n_weighted"].tolist() == [4.0, 2.0]
    assert f["share"].tolist() == pytest.approx([4 / 6, 2 / 6])
    assert f["accuracy"].tolist() == pytest.approx([1.0, 0.5])


def test_undefined_metrics_warn_and_show_nan():
    ev = mc.Evaluation([0, 0, 1, 1], [0, 0, 1, 1], data={"g": list("aabb")})
    with pytest.warns(mc.UndefinedMetricWarning, match="precision in 1 of 2 slices"):
        f = ev.slices(by="g", metrics=["precision"]).to_frame()
    assert np.isnan(f["precision"].iloc[0]) and f["precision"].iloc[1] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f0 = ev.slices(by="g", metrics=["precision"], zero_division=0).to_frame()
        ev.slices(by="g", metrics=["precision"], zero_division=np.nan)
    assert f0["precision"].tolist() == [0.0, 1.0]


def test_undefined_warning_counts_only_the_slices_shown():
    "A slice hidden by min_support does not warn; the count is of the slices in the table."
    ev = mc.Evaluation([0, 0, 1, 1, 0, 1, 0], [0, 0, 1, 1, 0, 0, 0], data={"g": list("aabbbbb")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = ev.slices(by="g", metrics=["recall"], min_support=3).to_frame()
    assert f["slice"].tolist() == ["g == 'b'"]
    with pytest.warns(mc.UndefinedMetricWarning, match="recall in 1 of 2 slices"):
        ev.slices(by="g", metrics=["recall"])


def test_callable_and_cost_metrics():
    from sklearn.metrics import matthews_corrcoef
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300); p = np.where(rng.random(300) < .3, 1 - y, y); g = rng.choice(list("ab"), 300)
    ev = mc.Evaluation(y, p, data={"g": g})
    cost = mc.Cost({(1, 0): 5.0, (0, 1): 1.0}, name="cost")
    f = ev.slices(by="g", metrics=[cost, matthews_corrcoef]).to_frame()
    for _, r in f.iterrows():
        m = g == r["g"]
        assert r["matthews_corrcoef"] == pytest.approx(matthews_corrcoef(y[m], p[m]))
        assert r["cost"] == pytest.approx((5 * ((y[m] == 1) & (p[m] == 0)).sum() + ((y[m] == 0) & (p[m] == 1)).sum()) / m.sum())
        assert r["cost_ci_low"] <= r["cost"] <= r["cost_ci_high"]


def test_regression_cost_over_and_under():
    y = np.array([10.0, 10, 10, 10]); p = np.array([12.0, 8, 10, 11])
    ev = mc.Evaluation(y, p, data={"g": list("aabb")}, task="regression")
    res = ev.metrics([mc.Cost(over=1, under=3, name="stock_cost")])
    assert res["stock_cost"] == pytest.approx((2 * 1 + 2 * 3 + 0 + 1 * 1) / 4)


def test_bootstrap_is_seeded(ev):
    a = ev.slices(by="city", metrics=["f1"], seed=3).to_frame()
    b = ev.slices(by="city", metrics=["f1"], seed=3).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_worst_orders_by_bad_direction():
    rng = np.random.default_rng(2)
    g = rng.choice(list("abc"), 3000)
    y = rng.integers(0, 2, 3000)
    err = rng.random(3000) < np.select([g == "a", g == "b"], [0.4, 0.1], 0.2)
    ev = mc.Evaluation(y, np.where(err, 1 - y, y), data={"g": g})
    sf = ev.slices(by="g", metrics=["accuracy", "error_rate"])
    assert sf.worst(1).to_frame()["g"].item() == "a"
    assert sf.worst(1, "error_rate").to_frame()["g"].item() == "a"
    assert sf.to_frame().set_index("g").loc["a", "p_value"] < 0.001


def test_html_is_static_and_escaped():
    ev = mc.Evaluation([0, 1, 1, 0], [0, 1, 0, 0], data={"city": ["<script>alert(1)</script>", "x", "x", "<script>alert(1)</script>"]})
    h = ev.slices(by="city", metrics=["accuracy"])._repr_html_()
    assert "<script>" not in h and "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    for css in re.findall(r"<style>(.*?)</style>", h): # only the dark-theme colours, scoped to mlcompass's own blocks
        for rule in re.findall(r"([^{}]+)\{[^{}]*\}", css):
            assert all(".mlcompass" in sel for sel in rule.split(",")), rule
    assert "<script" not in ev.metrics()._repr_html_()


def test_plot_returns_self_with_axes(ev):
    import matplotlib
    matplotlib.use("Agg")
    sf = ev.slices(by=["city", "age"], metrics=["accuracy"])
    assert sf.plot() is sf.ax_ and sf.ax_ is not None
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    assert sf.plot(ax=ax, metric="accuracy") is ax and sf.ax_ is ax


def test_widget_builds(ev):
    w = ev.slices(by=["city"], metrics=["accuracy"]).widget()
    import ipywidgets
    assert isinstance(w, ipywidgets.VBox)


def test_import_stays_light():
    code = ("import time; t = time.perf_counter(); import mlcompass, sys; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('matplotlib', 'seaborn', 'ipywidgets', 'fairlearn', 'papermill', 'sklearn', 'scipy.stats') if m in sys.modules]; "
            "print(heavy, dt)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("[] "), out


def test_adult_dataset_ships_with_the_package():
    df = mc.datasets.load_adult("all")
    assert len(df) == 48842 and set(df["split"]) == {"train", "test"}
    assert set(df["income"]) == {"<=50K", ">50K"}


def test_cli_example_writes_an_offline_report(tmp_path):
    "The README's first command: the full report on the Adult example, with milestones, baselines and gates."
    out = tmp_path / "sub"
    res = subprocess.run([sys.executable, "-m", "mlcompass.cli", "example", "--out", str(out), "--no-progress"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str((out / "report.html").resolve())
    html = (out / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "data:image/png;base64," in html and "Quality gates" in html and "Milestones" in html
    s = json.loads((out / "summary.json").read_text())
    assert s["passed"] and s["milestones"]["focus"] in ("bias", "variance", "mismatch", "done")
    assert {b["kind"] for b in s["baselines"]} >= {"human-level", "literature", "previous system", "trivial"}
    again = subprocess.run([sys.executable, "-m", "mlcompass.cli", "example", "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_overall_metrics_result_shows_everywhere():
    import matplotlib
    matplotlib.use("Agg")
    ev = mc.Evaluation([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], y_score=[.1, .9, .4, .3, .8])
    res = ev.metrics()
    assert list(res.to_frame().columns) == ["value", "ci_low", "ci_high"]
    assert res.plot() is res.ax_ and res.ax_ is not None
    assert "accuracy" in res.widget().value and "<table" in res._repr_html_()
