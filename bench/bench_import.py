"""Benchmark: how long `import mlcompass` takes, what it spends the time on, and what it drags in.

Runs, each in a fresh interpreter (the same Python as this script, i.e. the project's venv):
  * `python -X importtime -c "import mlcompass"` --repeat times: the cumulative import time of
    mlcompass (best and median) and the top contributors (self time, median over the runs);
  * `python -c "import mlcompass"` --repeat times, wall clock (best of N), next to `python -c "pass"`
    (bare interpreter start-up) for reference;
  * `import mlcompass` then a look at sys.modules: the heavy optional stacks (matplotlib, seaborn,
    ipywidgets, fairlearn, papermill, sklearn) must not be loaded by the import.

    .venv/bin/python bench/bench_import.py [--repeat 5] [--json PATH]

This is a benchmark, not a test: it prints figures and a MET/MISSED line, it does not fail.
"""
from __future__ import annotations
import argparse, json, os, re, statistics, subprocess, sys, time
from collections import defaultdict

TARGET_SECONDS = 0.5
MUST_NOT_LOAD = ["matplotlib", "seaborn", "ipywidgets", "fairlearn", "papermill", "sklearn"]
ALSO_REPORT = ["numpy", "pandas", "scipy", "pyarrow", "IPython"]
LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def importtime_once(python: str):
    "One `-X importtime` run: list of (module, self_us, cumulative_us, depth), in the order printed."
    r = subprocess.run([python, "-X", "importtime", "-c", "import mlcompass"], capture_output=True, text=True, check=True)
    rows = []
    for line in r.stderr.splitlines():
        m = LINE.match(line)
        if m: rows.append((m.group(4), int(m.group(1)), int(m.group(2)), (len(m.group(3)) - 1) // 2))
    return rows


def wall_once(python: str, code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    py = sys.executable
    print(f"Python {sys.version.split()[0]} at {py}; {args.repeat} fresh interpreters per measurement; "
          f"load average {os.getloadavg()[0]:.2f}\n")

    # ---- -X importtime
    runs = [importtime_once(py) for _ in range(args.repeat)]
    cum = [next(c for mod, s, c, d in run if mod == "mlcompass") / 1e6 for run in runs]
    self_us, cum_us, pkg_self = defaultdict(list), defaultdict(list), defaultdict(list)
    for run in runs:
        per_pkg = defaultdict(int)
        for mod, s, c, d in run:
            self_us[mod].append(s); cum_us[mod].append(c)
            per_pkg[mod.split(".")[0]] += s
        for k, v in per_pkg.items(): pkg_self[k].append(v)
    med = lambda xs: statistics.median(xs)
    total_self = med([sum(s for _, s, _, _ in run) for run in runs]) / 1e6
    print(f"-X importtime: cumulative import time of mlcompass: best {min(cum):.3f} s, median {med(cum):.3f} s "
          f"(all modules' self time, median: {total_self:.3f} s; {len(runs[0])} modules imported)")

    top_mod = sorted(self_us, key=lambda m: -med(self_us[m]))[:args.top]
    print(f"\ntop {args.top} modules by self time (median of {args.repeat} runs):")
    print(f"  {'module':<45} {'self ms':>9} {'cumulative ms':>14}")
    for m in top_mod: print(f"  {m:<45} {med(self_us[m]) / 1e3:>9.1f} {med(cum_us[m]) / 1e3:>14.1f}")

    top_pkg = sorted(pkg_self, key=lambda p: -med(pkg_self[p]))[:args.top]
    print(f"\ntop {args.top} top-level packages by summed self time of their modules (median):")
    print(f"  {'package':<30} {'ms':>9} {'share':>7}")
    for p in top_pkg: print(f"  {p:<30} {med(pkg_self[p]) / 1e3:>9.1f} {med(pkg_self[p]) / 1e6 / total_self:>7.0%}")

    own = sorted({m for m in self_us if m == "mlcompass" or m.startswith("mlcompass.")}, key=lambda m: -med(cum_us[m]))
    print("\nmlcompass's own modules (cumulative ms, median): " + ", ".join(f"{m} {med(cum_us[m]) / 1e3:.1f}" for m in own))

    # ---- wall clock
    bare = [wall_once(py, "pass") for _ in range(args.repeat)]
    wall = [wall_once(py, "import mlcompass") for _ in range(args.repeat)]
    print(f"\nwall clock `python -c \"import mlcompass\"`: best {min(wall):.3f} s, median {med(wall):.3f} s "
          f"(bare `python -c pass`: best {min(bare):.3f} s; difference {min(wall) - min(bare):.3f} s)")

    # ---- sys.modules
    code = ("import sys, json; import mlcompass; "
            f"print(json.dumps({{m: m in sys.modules for m in {MUST_NOT_LOAD + ALSO_REPORT!r}}}))")
    loaded = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout)
    bad = [m for m in MUST_NOT_LOAD if loaded[m]]
    print("\nin sys.modules after `import mlcompass`:")
    for m in MUST_NOT_LOAD: print(f"  {m:<12} {'LOADED  <- must not be' if loaded[m] else 'not loaded (ok)'}")
    for m in ALSO_REPORT: print(f"  {m:<12} {'loaded' if loaded[m] else 'not loaded'}  (for information)")

    ok_t, ok_w = min(cum) < TARGET_SECONDS, min(wall) < TARGET_SECONDS
    print(f"\ntarget import < {TARGET_SECONDS} s: importtime cumulative {min(cum):.3f} s -> {'MET' if ok_t else 'MISSED'}; "
          f"wall clock incl. interpreter start {min(wall):.3f} s -> {'MET' if ok_w else 'MISSED'}; "
          f"heavy optional packages loaded: {bad or 'none'} -> {'MET' if not bad else 'MISSED'}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%d"), "python": sys.version.split()[0],
                       "importtime_cumulative_s": cum, "wall_s": wall, "bare_interpreter_s": bare,
                       "top_modules_self_ms": {m: med(self_us[m]) / 1e3 for m in top_mod},
                       "top_packages_self_ms": {p: med(pkg_self[p]) / 1e3 for p in top_pkg},
                       "loaded": loaded, "targets_met": {"importtime": ok_t, "wall": ok_w, "no_heavy": not bad}}, fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
