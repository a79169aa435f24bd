"""How fast the dashboard answers each control on one million rows: the view recomputed, its chart drawn and its table rendered.

    .venv/bin/python bench/bench_widgets.py [--json bench/results_widgets.json]

Each change is timed three times (the control is reset in between), with the control's tab open as a user would have it; the
best and the median are reported.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

import mlcompass as mc

warnings.filterwarnings("ignore")
n = 1_000_000
rng = np.random.default_rng(0)
df = pd.DataFrame({c: pd.Series(np.array([f"{c}{i}" for i in range(10)])[rng.integers(0, 10, n)]) for c in "abc"})
df["age"] = rng.integers(18, 90, n)
y = rng.integers(0, 2, n)
pred = np.where(rng.random(n) < np.where(df["a"] == "a3", 0.35, 0.15), 1 - y, y)
score = np.clip(np.where(pred == 1, 0.7, 0.3) + rng.normal(0, 0.15, n), 0, 1)
ev = mc.Evaluation(y, pred, y_score=score, data=df)
t = time.perf_counter(); dash = ev.widget(by=["a"], sensitive=["b"]); build = time.perf_counter() - t
for tab in ("Heat map", "Compare", "Classes", "Fairness", "Examples"): dash._render(tab)
dash.discover_features.value = ("a", "b", "c"); dash.run_discover.click()

def click(button): return lambda: button.click()
def setter(control, value): return lambda: setattr(control, "value", value)
def drill(tab): return lambda: dash.open_examples(dash.open_slice[tab].options[0], tab)

# (what, reset, change, view that must show no error)
steps = [("Slices: features = a, b", setter(dash.features, ("a",)), setter(dash.features, ("a", "b")), "Slices"),
         ("Slices: depth 1 -> 2 (a, b)", setter(dash.depth, 1), setter(dash.depth, 2), "Slices"),
         ("Slices: metric accuracy -> f1", setter(dash.metric, "accuracy"), setter(dash.metric, "f1"), "Slices"),
         ("Heat map: columns b -> c", setter(dash.heat_cols, "b"), setter(dash.heat_cols, "c"), "Heat map"),
         ("drill-down: a heat-map cell's examples", setter(dash.example_slice, None), drill("Heat map"), "Examples"),
         ("Classes: threshold 0.50 -> 0.70", setter(dash.threshold, 0.5), setter(dash.threshold, 0.7), "Classes"),
         ("Fairness: sensitive = b, c", setter(dash.sensitive, ("b",)), setter(dash.sensitive, ("b", "c")), "Fairness"),
         ("Discover: k 10 -> 5", setter(dash.k, 10), setter(dash.k, 5), "Discover"),
         ("Discover: tree depth 3 -> 2", lambda: (setattr(dash.method, "value", "tree"), setattr(dash.tree_depth, "value", 3)), setter(dash.tree_depth, 2), "Discover"),
         ("drill-down: a slice's examples", setter(dash.example_slice, None), drill("Slices"), "Examples"),
         ("drill-down: a tree leaf's examples", setter(dash.example_slice, None), drill("Discover"), "Examples"),
         ("Examples: sort by score", setter(dash.sort_by, "(data order)"), setter(dash.sort_by, "score (1)"), "Examples"),
         ("Examples: next page", setter(dash.page, 1), click(dash.next_page), "Examples"),
         ("save the open slice as a cohort", drill("Slices"), lambda: dash.save_cohort("bench"), "Examples")]
results = {"rows": n, "build_seconds": round(build, 3), "changes": {}}
print(f"dashboard built (overview with findings + slices by a) on {n:,} rows: {build:.2f} s")
print(f"{'control change':<38} | best (s) | median (s)")
for name, reset, change, view in steps:
    dash.tab.selected_index = mc.widgets.TABS.index(view)  # as a user would: the control's own tab is open
    times = []
    for _ in range(3):
        reset()
        t = time.perf_counter(); change(); times.append(time.perf_counter() - t)
        assert dash.views[view].error is None, (name, dash.views[view].error)
    results["changes"][name] = {"best": round(min(times), 3), "median": round(sorted(times)[1], 3)}
    print(f"{name:<38} | {min(times):>8.3f} | {sorted(times)[1]:>10.3f}")
if "--json" in sys.argv: json.dump(results, open(sys.argv[sys.argv.index("--json") + 1], "w"), indent=1)
