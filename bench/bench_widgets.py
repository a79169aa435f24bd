"""How fast the dashboard's Slices tab answers a control change on one million rows (table recomputed and rendered).

    .venv/bin/python bench/bench_widgets.py
"""
import time

import numpy as np
import pandas as pd

import mlcompass as mc

n = 1_000_000
rng = np.random.default_rng(0)
df = pd.DataFrame({c: pd.Series(np.array([f"{c}{i}" for i in range(10)])[rng.integers(0, 10, n)]) for c in "abc"})
y = rng.integers(0, 2, n)
ev = mc.Evaluation(y, np.where(rng.random(n) < 0.2, 1 - y, y), data=df)
t = time.perf_counter(); dash = ev.widget(by=["a"]); build = time.perf_counter() - t
# (control, value before, value timed): the control is reset before each timed change
steps = [("features = a, b", dash.features, ("a",), ("a", "b")),
         ("depth 1 -> 2 (a, b)", dash.depth, 1, 2),
         ("features = a, b, c", dash.features, ("a", "b"), ("a", "b", "c")),
         ("depth 1 -> 3 (1,330 slices)", dash.depth, 1, 3),
         ("metric accuracy -> f1", dash.metric, "accuracy", "f1")]
print(f"dashboard built (overview + slices by a) on {n:,} rows: {build:.2f} s")
print(f"{'control change':<30} | seconds (best of 3) | median")
for name, control, before, after in steps:
    times = []
    for _ in range(3):
        control.value = before
        t = time.perf_counter(); control.value = after; times.append(time.perf_counter() - t)
        assert dash.views["Slices"].error is None and dash.results["Slices"] is not None
    print(f"{name:<30} | {min(times):>19.3f} | {sorted(times)[1]:.3f}")
