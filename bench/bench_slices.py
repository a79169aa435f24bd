"""Benchmark: mlcompass sliced metrics vs fairlearn MetricFrame vs a hand-written pandas groupby.

Scenario (from the project's issue): `--rows` examples, three categorical features a, b, c with
`--values` string values each ("a0".."a9" by default, so 10**3 = 1,000 intersectional groups), binary
y_true / y_pred (ints 0/1, ~80% accuracy), 5 metrics: accuracy, precision, recall, F1, selection rate.

Every engine is timed in the same process, on the same data, from the raw DataFrame with `str`
columns (so the factorisation of the strings is part of every measurement). The script also checks
that the engines give the same numbers (depth-3 slices vs MetricFrame.by_group, and overall).

    .venv/bin/python bench/bench_slices.py                  # full run (~1 min: MetricFrame takes ~16 s)
    .venv/bin/python bench/bench_slices.py --skip-fairlearn # quick run
    .venv/bin/python bench/bench_slices.py --json bench/results_slices.json

This is a benchmark, not a test: it prints figures, it does not fail on them.
"""
from __future__ import annotations
import argparse, gc, json, os, platform, statistics, sys, time, warnings
from functools import partial

import numpy as np
import pandas as pd

METRIC_NAMES = ["accuracy", "precision", "recall", "f1", "selection_rate"]
BY = ["a", "b", "c"]
TARGET_SECONDS = 0.3
TARGET_SPEEDUP = 50.0


# ----------------------------------------------------------------------------------------------- data
def make_data(rows: int, values: int, seed: int = 0):
    "Seeded data: a DataFrame with `str` columns a, b, c and int 0/1 arrays y_true, y_pred (~80% accuracy)."
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: np.array([f"{c}{i}" for i in range(values)])[rng.integers(0, values, rows)] for c in BY})
    y_true = rng.integers(0, 2, rows)
    y_pred = np.where(rng.random(rows) < 0.8, y_true, 1 - y_true)
    return df, y_true, y_pred


# -------------------------------------------------------------------------------------------- engines
def run_mlcompass(df, y_true, y_pred, ci=0.95):
    "The public API, from the raw DataFrame: Evaluation construction (incl. factorisation) + slices."
    import mlcompass as mc
    ev = mc.Evaluation(y_true, y_pred, data=df[BY])
    return ev.slices(by=BY, max_depth=3, metrics=METRIC_NAMES, ci=ci)


def run_mlcompass_depth3(df, y_true, y_pred):
    """Only the 1,000 depth-3 groups (what MetricFrame computes), ci=None, no p-values.
    Uses mlcompass internals (slices.encode_feature, stats.combine_codes, metrics.evaluate_groups):
    it shows the cost of the counting kernel, not a public API."""
    import mlcompass as mc
    from mlcompass.slices import encode_feature
    from mlcompass.stats import combine_codes
    from mlcompass.metrics import resolve_metrics, evaluate_groups
    ev = mc.Evaluation(y_true, y_pred, data=df[BY])
    feats = [encode_feature(ev.data[b], b) for b in BY]
    gid, keys = combine_codes([f.codes for f in feats], [f.card for f in feats])
    res = evaluate_groups(ev, gid, len(keys), resolve_metrics(ev, METRIC_NAMES), ci=None)
    return res, keys, feats


def run_pandas(df, y_true, y_pred):
    "What a careful user writes by hand: confusion counts per group with one groupby, metrics from the counts."
    t, p = y_true == 1, y_pred == 1
    d = df[BY].assign(tp=t & p, fp=~t & p, fn=t & ~p, tn=~t & ~p)
    c = d.groupby(BY, observed=True)[["tp", "fp", "fn", "tn"]].sum()
    tp, fp, fn, tn = (c[k].to_numpy(float) for k in ("tp", "fp", "fn", "tn"))
    n = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "accuracy": (tp + tn) / n,
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
            "selection_rate": (tp + fp) / n,
        }, index=c.index)
    return out


def run_fairlearn(df, y_true, y_pred):
    from fairlearn.metrics import MetricFrame, selection_rate
    from sklearn.metrics import accuracy_score, precision_score, recall_score, f1_score
    metrics = {"accuracy": accuracy_score,
               "precision": partial(precision_score, zero_division=np.nan),
               "recall": partial(recall_score, zero_division=np.nan),
               "f1": partial(f1_score, zero_division=np.nan),
               "selection_rate": selection_rate}
    return MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=df[BY])


# ------------------------------------------------------------------------------------------- timing
def timeit(fn, repeat: int):
    "Run `fn` `repeat` times; return (list of seconds, last result)."
    times, cpu, out = [], [], None
    for _ in range(repeat):
        out = None
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu, out


# -------------------------------------------------------------------------------------- comparisons
def max_diff(a: pd.DataFrame, b: pd.DataFrame):
    "Per column: max |a - b| over cells where both are numbers, and the count of NaN mismatches."
    out = {}
    for col in METRIC_NAMES:
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        nan_x, nan_y = np.isnan(x), np.isnan(y)
        both = ~nan_x & ~nan_y
        out[col] = {"max_abs_diff": float(np.max(np.abs(x[both] - y[both]), initial=0.0)),
                    "nan_mismatch": int((nan_x != nan_y).sum())}
    return out


def depth3_table(sf) -> pd.DataFrame:
    "The depth-3 rows of a SliceFrame, indexed by (a, b, c)."
    f = sf.to_frame()
    f = f[f["depth"] == 3]
    idx = pd.MultiIndex.from_arrays([f[b].astype(object).to_numpy() for b in BY], names=BY)
    return pd.DataFrame({m: f[m].to_numpy(float) for m in METRIC_NAMES}, index=idx)


def align(a: pd.DataFrame, b: pd.DataFrame):
    "Put `b` in the row order of `a` (keys compared as Python strings); report missing/extra groups."
    ka = [tuple(map(str, k)) for k in a.index]
    kb = [tuple(map(str, k)) for k in b.index]
    a2, b2 = a.copy(), b.copy()
    a2.index = pd.MultiIndex.from_tuples(ka, names=BY)
    b2.index = pd.MultiIndex.from_tuples(kb, names=BY)
    only_a, only_b = len(set(ka) - set(kb)), len(set(kb) - set(ka))
    common = a2.index.intersection(b2.index)
    return a2.loc[common], b2.loc[common], only_a, only_b


def compare(name_a, a, name_b, b, tol=1e-12):
    a2, b2, only_a, only_b = align(a, b)
    d = max_diff(a2, b2)
    worst = max(v["max_abs_diff"] for v in d.values())
    nan_mm = sum(v["nan_mismatch"] for v in d.values())
    ok = only_a == 0 and only_b == 0 and nan_mm == 0 and worst <= tol
    print(f"  {name_a} vs {name_b}: {len(a2):,} common groups ({only_a} only in {name_a}, {only_b} only in {name_b}); "
          f"max |diff| = {worst:.3g}; NaN mismatches = {nan_mm} -> {'IDENTICAL (within %.0e)' % tol if ok else 'DIFFERENT'}")
    for col, v in d.items():
        print(f"      {col:<15} max |diff| {v['max_abs_diff']:.3g}   NaN mismatches {v['nan_mismatch']}")
    return {"groups_common": len(a2), f"only_{name_a}": only_a, f"only_{name_b}": only_b,
            "max_abs_diff": worst, "nan_mismatch": nan_mm, "identical": ok, "per_metric": d}


def compare_overall(name_a, a: dict, name_b, b: dict, tol=1e-12):
    diffs = {}
    for m in METRIC_NAMES:
        x, y = float(a[m]), float(b[m])
        diffs[m] = 0.0 if (np.isnan(x) and np.isnan(y)) else abs(x - y)
    worst = max(diffs.values())
    ok = worst <= tol
    print(f"  overall {name_a} vs {name_b}: max |diff| = {worst:.3g} -> {'IDENTICAL (within %.0e)' % tol if ok else 'DIFFERENT'}"
          f"   ({', '.join(f'{m} {a[m]:.6f}' for m in METRIC_NAMES)})")
    return {"max_abs_diff": worst, "identical": ok, "per_metric": diffs}


# ------------------------------------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--values", type=int, default=10, help="distinct values per feature (groups = values**3)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per engine (best and median reported)")
    ap.add_argument("--fairlearn-repeat", type=int, default=1, help="runs of MetricFrame (slow; default 1)")
    ap.add_argument("--skip-fairlearn", action="store_true", help="skip MetricFrame (quick runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="PATH", help="write the results to this JSON file")
    args = ap.parse_args(argv)

    warnings.simplefilter("ignore")  # e.g. UndefinedMetricWarning on tiny groups with small --rows
    import mlcompass as mc, sklearn, fairlearn
    df, y_true, y_pred = make_data(args.rows, args.values, args.seed)
    n = args.rows
    print(f"mlcompass {mc.__version__} | fairlearn {fairlearn.__version__} | scikit-learn {sklearn.__version__} | "
          f"pandas {pd.__version__} | numpy {np.__version__} | Python {platform.python_version()}")
    print(f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"data: {n:,} rows, features {BY} with {args.values} str values each (dtype {df['a'].dtype}), "
          f"{df.groupby(BY, observed=True).ngroups:,} intersectional groups; accuracy {np.mean(y_true == y_pred):.3f}; "
          f"metrics {METRIC_NAMES}")
    print(f"timing: time.perf_counter, best and median of {args.repeat} runs (MetricFrame: {args.fairlearn_repeat}), "
          f"gc.collect() before each run; load average at start {os.getloadavg()[0]:.2f} "
          f"(other processes on the {os.cpu_count()} cores skew the figures)\n")

    engines = {
        "mlcompass slices (default: ci=0.95)": lambda: run_mlcompass(df, y_true, y_pred, ci=0.95),
        "mlcompass slices (ci=None)": lambda: run_mlcompass(df, y_true, y_pred, ci=None),
        "mlcompass depth-3 only (internal, ci=None)": lambda: run_mlcompass_depth3(df, y_true, y_pred),
        "pandas groupby (hand-written)": lambda: run_pandas(df, y_true, y_pred),
    }
    if not args.skip_fairlearn:
        engines["fairlearn MetricFrame"] = lambda: run_fairlearn(df, y_true, y_pred)

    results, outputs = {}, {}
    for name, fn in engines.items():
        rep = args.fairlearn_repeat if name.startswith("fairlearn") else args.repeat
        print(f"  running {name} x{rep} ...", flush=True)
        times, cpu, out = timeit(fn, rep)
        outputs[name] = out
        results[name] = {"times": times, "cpu_times": cpu, "best": min(times), "median": statistics.median(times),
                         "first": times[0], "runs": rep, "rows_per_s": n / min(times),
                         "cpu_over_wall": sum(cpu) / sum(times)}

    ref_name = "fairlearn MetricFrame" if "fairlearn MetricFrame" in results else "pandas groupby (hand-written)"
    ref = results[ref_name]["best"]
    for r in results.values(): r["ratio_vs_ref"] = ref / r["best"]

    # ---- table
    w = max(len(k) for k in results) + 2
    head = f"{'engine':<{w}} | {'seconds (best)':>14} | {'median':>8} | {'rows/s':>12} | {'ratio vs ' + ('MetricFrame' if ref_name.startswith('fair') else 'pandas'):>21}"
    print("\n" + head)
    print("-" * len(head))
    for name, r in results.items():
        print(f"{name:<{w}} | {r['best']:>14.4f} | {r['median']:>8.4f} | {r['rows_per_s']:>12,.0f} | {r['ratio_vs_ref']:>20.{1 if r['ratio_vs_ref'] >= 10 else 2}f}x")
    print(f"(ratio = {ref_name} best seconds / engine best seconds; higher is faster)")
    print("first (cold) run of each engine: " + "; ".join(f"{k}: {v['first']:.3f} s" for k, v in results.items()))

    print("process CPU time / wall time (≈1: single-threaded and not starved; well below 1: other load on the machine): "
          + "; ".join(f"{k}: {v['cpu_over_wall']:.2f}" for k, v in results.items()))

    # ---- headline
    ml, ml0 = results["mlcompass slices (default: ci=0.95)"], results["mlcompass slices (ci=None)"]
    print()
    if ref_name.startswith("fairlearn"):
        print(f"speedup MetricFrame / mlcompass (default, ci=0.95): {ref / ml['best']:.1f}x   "
              f"(ci=None: {ref / ml0['best']:.1f}x; depth-3 only: {ref / results['mlcompass depth-3 only (internal, ci=None)']['best']:.1f}x)")
    pb = results["pandas groupby (hand-written)"]["best"]
    print(f"ratio pandas groupby / mlcompass (default, ci=0.95): {pb / ml['best']:.2f}x   (ci=None: {pb / ml0['best']:.2f}x)"
          f"   [< 1: mlcompass is slower than the hand-written groupby, which computes no intervals, p-values or depth 1-2]")
    targets = {}
    for label, r in (("default ci=0.95", ml), ("ci=None", ml0)):
        t_ok = r["best"] < TARGET_SECONDS
        line = f"target mlcompass ({label}) < {TARGET_SECONDS} s: best {r['best']:.3f} s -> {'MET' if t_ok else 'MISSED'}"
        targets[label] = {"seconds": r["best"], "seconds_met": t_ok}
        if ref_name.startswith("fairlearn"):
            s_ok = ref / r["best"] >= TARGET_SPEEDUP
            line += f";  >= {TARGET_SPEEDUP:.0f}x MetricFrame: {ref / r['best']:.1f}x -> {'MET' if s_ok else 'MISSED'}"
            targets[label].update(speedup=ref / r["best"], speedup_met=s_ok)
        print(line)

    print(f"load average at end of timing: {os.getloadavg()[0]:.2f}")

    # ---- identical numbers?
    print("\nchecking the numbers (depth-3 slices vs per-group reference; NaN == NaN):")
    checks = {}
    sf = outputs["mlcompass slices (default: ci=0.95)"]
    sf0 = outputs["mlcompass slices (ci=None)"]
    ml3 = depth3_table(sf)
    pd3 = outputs["pandas groupby (hand-written)"]
    res, keys, feats = outputs["mlcompass depth-3 only (internal, ci=None)"]
    k3 = pd.MultiIndex.from_arrays([[feats[j].values[c] for c in keys[:, j]] for j in range(3)], names=BY)
    int3 = pd.DataFrame({m: res["values"][m] for m in METRIC_NAMES}, index=k3)
    same_ci = max(float(np.nanmax(np.abs(depth3_table(sf0)[m].to_numpy() - ml3[m].to_numpy()), initial=0)) for m in METRIC_NAMES)
    print(f"  mlcompass ci=None vs ci=0.95 point values: max |diff| = {same_ci:.3g}")
    pd_overall = {"accuracy": np.mean(y_true == y_pred), "precision": y_true[y_pred == 1].mean(),
                  "recall": y_pred[y_true == 1].mean(),
                  "f1": 2 * np.sum((y_true == 1) & (y_pred == 1)) / (np.sum(y_true == 1) + np.sum(y_pred == 1)),
                  "selection_rate": np.mean(y_pred == 1)}
    if ref_name.startswith("fairlearn"):
        mf = outputs["fairlearn MetricFrame"]
        checks["mlcompass_vs_metricframe"] = compare("mlcompass", ml3, "MetricFrame", mf.by_group)
        checks["mlcompass_depth3_internal_vs_metricframe"] = compare("mlcompass-depth3", int3, "MetricFrame", mf.by_group)
        checks["pandas_vs_metricframe"] = compare("pandas", pd3, "MetricFrame", mf.by_group)
        checks["overall_mlcompass_vs_metricframe"] = compare_overall("mlcompass", sf.overall.to_dict(), "MetricFrame", mf.overall.to_dict())
    else:
        checks["mlcompass_vs_pandas"] = compare("mlcompass", ml3, "pandas", pd3)
        checks["mlcompass_depth3_internal_vs_pandas"] = compare("mlcompass-depth3", int3, "pandas", pd3)
    checks["overall_mlcompass_vs_numpy"] = compare_overall("mlcompass", sf.overall.to_dict(), "numpy", pd_overall)
    print(f"  mlcompass table: {len(sf):,} slices (depth 1: {int((sf.to_frame()['depth'] == 1).sum())}, "
          f"depth 2: {int((sf.to_frame()['depth'] == 2).sum())}, depth 3: {len(ml3)}), {sf.to_frame().shape[1]} columns")

    if args.json:
        payload = {"date": time.strftime("%Y-%m-%d"), "args": vars(args), "loadavg_end": os.getloadavg(),
                   "env": {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count(),
                           "mlcompass": mc.__version__, "fairlearn": fairlearn.__version__, "sklearn": sklearn.__version__,
                           "pandas": pd.__version__, "numpy": np.__version__},
                   "reference": ref_name, "results": results, "targets": targets, "checks": checks}
        with open(args.json, "w") as fh: json.dump(payload, fh, indent=2, default=float)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
