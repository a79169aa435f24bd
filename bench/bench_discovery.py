"""Slice discovery: mlcompass's SliceLine against the `sliceline` package, time and peak memory, in the same run.

Each engine runs in its own subprocess (so that peak memory is its own), capped by --mem-gb of address space and
--timeout seconds: the sliceline package needs tens of GB at max_level=3 and would otherwise take the machine down.

    .venv/bin/python bench/bench_discovery.py            # Adult-sized problem at levels 2 and 3, then 1M x 20
    .venv/bin/python bench/bench_discovery.py --quick    # Adult-sized only
"""
import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
cfg = json.loads(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (cfg["mem"], cfg["mem"]))
rng = np.random.default_rng(cfg["seed"])
n, m, d = cfg["rows"], cfg["features"], cfg["values"]
codes = rng.integers(0, d, (n, m))
# a 20% base error rate, with planted failures of one, two and three predicates
p = (0.2 + 0.3 * (codes[:, 0] == 1) + 0.3 * ((codes[:, 1] == 2) & (codes[:, 2] == 3))
     + 0.25 * ((codes[:, 3] == 0) & (codes[:, 4] == 1) & (codes[:, 5] == 2)))
e = (rng.random(n) < p).astype(float)
t = time.perf_counter()
if cfg["engine"] == "mlcompass":
    from mlcompass.discovery import sliceline_search
    r = sliceline_search(codes, [d] * m, e, k=cfg["k"], max_level=cfg["level"], min_support=cfg["sup"], alpha=cfg["alpha"], progress=False)
    scores = [s[0] for s in r["slices"]]
else:
    from sliceline import Slicefinder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = Slicefinder(alpha=cfg["alpha"], k=cfg["k"], max_l=cfg["level"], min_sup=cfg["sup"], verbose=False).fit(codes, e)
    scores = sorted((s["slice_score"] for s in sf.top_slices_statistics_), reverse=True)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "scores": scores}))
"""


def run(engine, cfg, timeout):
    cfg = dict(cfg, engine=engine)
    t = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout} s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        why = "out of memory (cap %.0f GB)" % (cfg["mem"] / 2**30) if "MemoryError" in out.stderr or "Cannot allocate" in out.stderr else last[:120]
        return {"status": f"failed: {why}", "wall": time.perf_counter() - t}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), status="ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="only the Adult-sized problem")
    ap.add_argument("--mem-gb", type=float, default=6.0, help="address-space cap per engine (default 6)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per engine run (default 300)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    mem = int(args.mem_gb * 2**30)
    cases = [dict(rows=32_561, features=14, values=8, level=2, sup=32, alpha=0.95, k=10, seed=0, mem=mem),
             dict(rows=32_561, features=14, values=8, level=3, sup=32, alpha=0.95, k=10, seed=0, mem=mem),
             dict(rows=32_561, features=14, values=8, level=2, sup=32, alpha=0.999, k=10, seed=0, mem=mem),
             dict(rows=32_561, features=14, values=8, level=3, sup=32, alpha=0.999, k=10, seed=0, mem=mem)]
    if not args.quick:
        cases += [dict(rows=1_000_000, features=20, values=8, level=3, sup=100, alpha=0.95, k=10, seed=0, mem=mem),
                  dict(rows=1_000_000, features=20, values=8, level=3, sup=100, alpha=0.999, k=10, seed=0, mem=mem)]
    results = []
    print(f"{'problem':<42} | {'engine':<10} | {'seconds':>8} | {'peak MB':>8} | top score | status")
    print("-" * 100)
    for c in cases:
        name = f"{c['rows']:,} x {c['features']} x {c['values']}, level {c['level']}, alpha {c['alpha']}"
        row = {"case": c}
        for engine in ("mlcompass", "sliceline"):
            if engine == "sliceline" and c["rows"] > 100_000:
                res = {"status": "not run (needs far more memory than the cap at this size)"}
            else: res = run(engine, c, args.timeout)
            row[engine] = res
            top = f"{res['scores'][0]:.6f}" if res.get("scores") else "-"
            print(f"{name:<42} | {engine:<10} | {res.get('seconds', float('nan')):>8.2f} | {res.get('peak_mb', float('nan')):>8.0f} | {top:>9} | {res['status']}")
        a, b = row["mlcompass"], row["sliceline"]
        if a.get("scores") and b.get("scores"):
            same = len(a["scores"]) == len(b["scores"]) and all(abs(x - y) <= 1e-9 * max(1, abs(y)) for x, y in zip(a["scores"], b["scores"]))
            print(f"{'':<42} | {'ratio':<10} | {b['seconds'] / a['seconds']:>7.1f}x | {b['peak_mb'] / a['peak_mb']:>7.1f}x | "
                  f"{'same top-K scores' if same else 'SCORES DIFFER'}")
        results.append(row)
    if args.json:
        with open(args.json, "w") as f: json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
