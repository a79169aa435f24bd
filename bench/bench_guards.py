"""Benchmark: the size guard and a scored million-row evaluation, before and after the large-set intervals.

Two questions from the correctness issue:

1. **The size guard.** 30 categorical features of 50 values each on 20,000 rows. `slices(max_depth=3)` and
   `compare(max_depth=2)` would build 82 million and 1.09 million slices; they must be refused, with the count, in well
   under a second.
2. **A scored million rows.** 1,000,000 binary examples with a score, three features of 5 values. The default metrics
   (accuracy, precision, recall, F1, ROC AUC) overall and sliced at depth 1 and 2, timed twice in the same process:
   with the row bootstrap (`metrics.ROW_BOOTSTRAP_MAX` raised above the row count: what every size did before) and with
   the default, where beyond 100,000 examples the intervals of ROC AUC and the sums come from score histograms and
   Gaussian moment replicates. The row bootstrap at depth 2 takes minutes, so `--before-depth` (default 1) limits it.

    .venv/bin/python bench/bench_guards.py [--json bench/results_guards.json] [--before-depth 1]

A benchmark, not a test: it prints figures and does not fail on them.
"""
from __future__ import annotations
import argparse, gc, json, os, platform, statistics, sys, time, warnings

import numpy as np
import pandas as pd


def timed(fn, repeat=3):
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter(); res = fn(); out.append(time.perf_counter() - t)
    return min(out), statistics.median(out), res, out[0]


def guard_case():
    import mlcompass as mc
    rng = np.random.default_rng(0); n = 20_000
    d = pd.DataFrame({f"c{j}": rng.integers(0, 50, n).astype(str) for j in range(30)})
    y = rng.integers(0, 2, n)
    ev = mc.Evaluation(y, np.where(rng.random(n) < .8, y, 1 - y), data=d)
    rows = {}
    for label, call in (("slices(max_depth=3)", lambda: ev.slices(by=list(d.columns), max_depth=3)),
                        ("slices(max_depth=2)", lambda: ev.slices(by=list(d.columns), max_depth=2)),
                        ("compare(max_depth=2)", lambda: ev.compare([mc.HumanLevel(.9)], by=list(d.columns), max_depth=2))):
        def refused():
            try: call()
            except ValueError as e: return str(e)
            return None
        best, med, msg, first = timed(refused)
        rows[label] = {"first_s": first, "best_s": best, "median_s": med, "refused": msg is not None, "message": msg}
        print(f"{label:24s} refused in {first * 1000:7.1f} ms on the first call (encoding the 30 columns), {med * 1000:.1f} ms after: {msg[:90]}...")
    return rows


def scored_case(before_depth):
    import mlcompass as mc
    from mlcompass import metrics as M
    rng = np.random.default_rng(0); n = 1_000_000
    y = rng.integers(0, 2, n); s = np.clip(y * .3 + rng.random(n) * .7, 0, 1)
    d = pd.DataFrame({c: rng.choice([f"{c}{i}" for i in range(5)], n) for c in "abc"})
    ev = mc.Evaluation(y, (s > .5).astype(int), y_score=s, data=d)
    cases = [("overall metrics()", 0, lambda: ev.metrics()),
             ("slices(by=a, b, c, depth 1)", 1, lambda: ev.slices(by=list("abc"), max_depth=1, progress=False)),
             ("slices(by=a, b, c, depth 2)", 2, lambda: ev.slices(by=list("abc"), max_depth=2, progress=False))]
    rows = {}
    for label, depth, fn in cases:
        after = timed(fn, 3)
        row = {"after_best_s": after[0], "after_median_s": after[1]}
        if depth <= before_depth:
            old, M.ROW_BOOTSTRAP_MAX = M.ROW_BOOTSTRAP_MAX, 10 ** 12
            try: before = timed(fn, 1)
            finally: M.ROW_BOOTSTRAP_MAX = old
            row.update(before_s=before[0], speedup=before[0] / after[0])
            f_a, f_b = (r.to_frame() for r in (after[2], before[2]))
            col = "ci_high" if "ci_high" in f_a else "roc_auc_ci_high"
            lo = "ci_low" if "ci_low" in f_a else "roc_auc_ci_low"
            width_a = (f_a.loc["roc_auc", col] - f_a.loc["roc_auc", lo]) if "ci_high" in f_a else (f_a[col] - f_a[lo]).median()
            width_b = (f_b.loc["roc_auc", col] - f_b.loc["roc_auc", lo]) if "ci_high" in f_b else (f_b[col] - f_b[lo]).median()
            row["roc_auc_interval_width_ratio"] = float(width_a / width_b)
        rows[label] = row
        extra = f"   row bootstrap {row['before_s']:7.2f} s  -> {row['speedup']:6.1f}x faster, ROC AUC interval width ratio {row['roc_auc_interval_width_ratio']:.2f}" if "before_s" in row else ""
        print(f"{label:30s} {row['after_best_s']:6.2f} s (median {row['after_median_s']:.2f}){extra}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json"); ap.add_argument("--before-depth", type=int, default=1)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print("== the size guard"); guard = guard_case()
    print("== a scored million rows (default metrics with ROC AUC)"); scored = scored_case(a.before_depth)
    out = {"date": time.strftime("%Y-%m-%d"), "loadavg_end": os.getloadavg(), "python": platform.python_version(),
           "numpy": np.__version__, "guard": guard, "scored_1m": scored}
    if a.json: json.dump(out, open(a.json, "w"), indent=1, default=float)


if __name__ == "__main__":
    main()
