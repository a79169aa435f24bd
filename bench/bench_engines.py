"""Sliced metrics on engines: 10 million rows in memory (pandas, Polars) and 100 million rows of Parquet through DuckDB.

    python bench/bench_engines.py             # 10M in memory, 100M in Parquet (generated once under /tmp)
    python bench/bench_engines.py --small     # 1M / 10M rows, for a quick look

Slice discovery (SliceLine, top 10, up to 3 predicates) runs on the same features: in memory over the rows, on an engine
over the finest slices with their counts (the same slices, checked). Import times are reported apart (`import_s`).

Every run slices by 3 features at max_depth=2 (3 single features + 3 pairs) with accuracy, precision, recall and F1
(95% intervals: Wilson, and the Poisson-cell bootstrap for F1). The comparison cases run `ev.compare` against a previous
model (a column `prev` of the same data) on the same slices: the model's and the previous model's accuracy, the trivial
model's, and the paired change with its interval and McNemar p-value per slice. It is compared with the floor of each engine: a plain
pandas `groupby(...).size()` of the same counts (the finest slices crossed with the true and predicted labels), and
DuckDB running the equivalent hand-written SQL `GROUP BY` (for the comparison, one `GROUP BY` that also crosses the
previous model's labels, from which every figure of the comparison follows). The DuckDB cases run in a fresh subprocess each, so that the
peak resident memory (the child's `VmHWM`, which starts afresh at exec, unlike `ru_maxrss`) is theirs alone. Best of `REPEAT` runs; the machine is shared.
Results go to bench/results_engines.json.
"""
from __future__ import annotations

import json
import os

import numpy as np
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("MLCOMPASS_BENCH_DATA", "/tmp/mlcompass-bench"))
BY = ["region", "device", "plan"]
METRICS = ["accuracy", "precision", "recall", "f1"]
REPEAT = 3


def rows_sql(n: int) -> str:
    "n rows of synthetic predictions, generated inside DuckDB from hashes of the row number."
    return f"""
        SELECT ['north','south','east','west','centre','islands','abroad','unknown'][CAST(1 + hash(i * 3 + 1) % 8 AS BIGINT)] AS region,
               CAST(hash(i * 5 + 2) % 12 AS INTEGER) AS device,
               ['free','basic','plus','pro','team'][CAST(1 + hash(i * 13 + 3) % 5 AS BIGINT)] AS plan,
               (hash(i * 7 + 4) % 1000000) / 1e6 AS score,
               CAST(((hash(i * 11 + 5) % 1000) / 1000.0 < (hash(i * 7 + 4) % 1000000) / 1e6) AS INTEGER) AS y,
               CAST((hash(i * 7 + 4) % 1000000) / 1e6 > 0.5 AS INTEGER) AS pred,
               CAST((hash(i * 7 + 4) % 1000000) / 1e6 + ((hash(i * 17 + 6) % 1000) / 1000.0 - 0.5) * 0.3 > 0.5 AS INTEGER) AS prev
        FROM range({n}) t(i)"""


def parquet(n: int) -> Path:
    "A folder of Parquet files with n rows, written by DuckDB (once)."
    out = DATA / f"preds_prev_{n}"
    if (out / "done").exists(): return out
    import duckdb
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=false")
    con.execute(f"COPY ({rows_sql(n)}) TO '{out}' (FORMAT parquet, PER_THREAD_OUTPUT true, OVERWRITE_OR_IGNORE true)")
    (out / "done").write_text(f"{n} rows in {time.perf_counter() - t:.1f} s\n")
    return out


def best(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return min(times)


def in_memory(n: int) -> dict:
    import duckdb
    import warnings
    import mlcompass as mc
    con = duckdb.connect()
    pdf = con.sql(rows_sql(n)).df()
    pldf = con.sql(rows_sql(n)).pl()
    kw = dict(by=BY, max_depth=2, metrics=METRICS)

    def run(df):
        ev = mc.Evaluation.from_frame(df, y_true="y", y_pred="pred", features=BY)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ev.slices(**kw)

    def run_compare(df):
        ev = mc.Evaluation.from_frame(df, y_true="y", y_pred="pred", features=BY + ["prev"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ev.compare([mc.PreviousSystem("prev", name="v1")], by=BY, max_depth=2, metric="accuracy")

    a, b = run(pdf).to_frame(), run(pldf).to_frame()
    ca, cb = run_compare(pdf).to_frame(), run_compare(pldf).to_frame()
    assert ca["slice"].tolist() == cb["slice"].tolist() and np.allclose(ca["v1_change_ci_low"], cb["v1_change_ci_low"])
    assert list(a["slice"]) == list(b["slice"]) and (a["n"].to_numpy() == b["n"].to_numpy()).all()
    res = {"rows": n,
           "mlcompass_pandas_s": best(lambda: run(pdf)),
           "mlcompass_polars_s": best(lambda: run(pldf)),
           "pandas_groupby_s": best(lambda: pdf.groupby(BY + ["y", "pred"], observed=True).size()),
           "polars_group_by_s": best(lambda: pldf.group_by(BY + ["y", "pred"]).len())}
    res.update({"compare_pandas_s": best(lambda: run_compare(pdf)), "compare_polars_s": best(lambda: run_compare(pldf)),
                "pandas_joint_groupby_s": best(lambda: pdf.groupby(BY + ["y", "pred", "prev"], observed=True).size())})
    def run_discover(df):
        ev = mc.Evaluation.from_frame(df, y_true="y", y_pred="pred", features=BY)
        return ev.discover(by=BY, k=10, max_level=3)

    da, db = run_discover(pdf).to_frame(), run_discover(pldf).to_frame()
    assert da["slice"].tolist() == db["slice"].tolist() and (da["n"].to_numpy() == db["n"].to_numpy()).all()
    res.update({"discover_pandas_s": best(lambda: run_discover(pdf), repeat=1), "discover_polars_s": best(lambda: run_discover(pldf))})
    res["discover_polars_speedup_over_pandas"] = res["discover_pandas_s"] / res["discover_polars_s"]
    res["discover_polars_ratio_to_pandas_groupby"] = res["discover_polars_s"] / res["pandas_groupby_s"]
    res["compare_pandas_ratio_to_joint_groupby"] = res["compare_pandas_s"] / res["pandas_joint_groupby_s"]
    res["compare_polars_ratio_to_joint_groupby"] = res["compare_polars_s"] / res["pandas_joint_groupby_s"]
    res["pandas_ratio_to_groupby"] = res["mlcompass_pandas_s"] / res["pandas_groupby_s"]
    res["polars_ratio_to_pandas_groupby"] = res["mlcompass_polars_s"] / res["pandas_groupby_s"]
    res["polars_ratio_to_polars_group_by"] = res["mlcompass_polars_s"] / res["polars_group_by_s"]
    return res


CHILD = {
    "mlcompass": """
import warnings, mlcompass as mc, narwhals, duckdb
from mlcompass.engines import duckdb_connection
t_imp = time.perf_counter()
ev = mc.Evaluation.from_frame(PATH, y_true="y", y_pred="pred", features=BY, connection=duckdb_connection(memory_limit="3GB"))
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sf = ev.slices(by=BY, max_depth=2, metrics=METRICS)
out = dict(slices=len(sf), n=int(ev.n), import_s=t_imp - t0, construct_s=t1 - t_imp, slices_s=time.perf_counter() - t1, queries=ev.engine.queries)
""",
    "mlcompass_compare": """
import warnings, mlcompass as mc, narwhals, duckdb
from mlcompass.engines import duckdb_connection
t_imp = time.perf_counter()
ev = mc.Evaluation.from_frame(PATH, y_true="y", y_pred="pred", features=BY + ["prev"], connection=duckdb_connection(memory_limit="3GB"))
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    cmp = ev.compare([mc.PreviousSystem("prev", name="v1")], by=BY, max_depth=2, metric="accuracy")
out = dict(slices=len(cmp) - 1, n=int(ev.n), import_s=t_imp - t0, construct_s=t1 - t_imp, slices_s=time.perf_counter() - t1,
           queries=ev.engine.queries + sum(d.engine.queries for d in ev.engine._derived.values()))
""",
    "mlcompass_discover": """
import warnings, mlcompass as mc, narwhals, duckdb
from mlcompass.engines import duckdb_connection
t_imp = time.perf_counter()
ev = mc.Evaluation.from_frame(PATH, y_true="y", y_pred="pred", features=BY, connection=duckdb_connection(memory_limit="3GB"))
t1 = time.perf_counter()
found = ev.discover(by=BY, k=10, max_level=3)
out = dict(slices=len(found), n=int(ev.n), import_s=t_imp - t0, construct_s=t1 - t_imp, slices_s=time.perf_counter() - t1,
           top=found.to_frame()["slice"].head(3).tolist(), queries=ev.engine.queries)
""",
    "sql_compare": """
import duckdb
t_imp = time.perf_counter()
con = duckdb.connect(); con.execute("SET enable_progress_bar=false"); con.execute("SET memory_limit='3GB'"); con.execute("SET preserve_insertion_order=false")
t1 = time.perf_counter()
r = con.execute(f'''SELECT region, CASE WHEN device >= 9 THEN 4 WHEN device >= 7 THEN 3 WHEN device >= 4 THEN 2 WHEN device >= 2 THEN 1 ELSE 0 END AS device_bin,
                    plan, y, pred, prev, count(*) AS n FROM read_parquet('{PATH}/**/*.parquet') GROUP BY ALL''').fetchall()
out = dict(groups=len(r), n=sum(x[-1] for x in r), import_s=t_imp - t0, construct_s=0.0, slices_s=time.perf_counter() - t1)
""",
    "sql": """
import duckdb
t_imp = time.perf_counter()
con = duckdb.connect(); con.execute("SET enable_progress_bar=false"); con.execute("SET memory_limit='3GB'"); con.execute("SET preserve_insertion_order=false")
t1 = time.perf_counter()
# device cut at its quintile edges [0, 2, 4, 7, 9, 11], as the slice table does; the edges given, not computed: the floor
r = con.execute(f'''SELECT region, CASE WHEN device >= 9 THEN 4 WHEN device >= 7 THEN 3 WHEN device >= 4 THEN 2 WHEN device >= 2 THEN 1 ELSE 0 END AS device_bin,
                    plan, y, pred, count(*) AS n FROM read_parquet('{PATH}/**/*.parquet') GROUP BY ALL''').fetchall()
out = dict(groups=len(r), n=sum(x[-1] for x in r), import_s=t_imp - t0, construct_s=0.0, slices_s=time.perf_counter() - t1)
""",
}


def child(kind: str, path: Path) -> dict:
    "Run one DuckDB case in a fresh interpreter; its time and its peak resident memory."
    code = (f"import time, json, sys, resource\nt0 = time.perf_counter()\nPATH = {str(path)!r}\nBY = {BY!r}\nMETRICS = {METRICS!r}\n"
            + CHILD[kind] + "\nout['total_s'] = time.perf_counter() - t0\nout['peak_rss_mb'] = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0] / 1024\nprint(json.dumps(out))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def parquet_case(n: int) -> dict:
    path = parquet(n)
    runs = {k: [child(k, path) for _ in range(2)] for k in ("sql", "mlcompass", "sql_compare", "mlcompass_compare", "mlcompass_discover")}
    fastest = {k: min(v, key=lambda r: r["total_s"]) for k, v in runs.items()}
    m, s, mcmp, scmp = fastest["mlcompass"], fastest["sql"], fastest["mlcompass_compare"], fastest["sql_compare"]
    disc = fastest["mlcompass_discover"]
    assert m["n"] == n == s["n"] == mcmp["n"] == scmp["n"] == disc["n"]
    no_imports = lambda r: r["total_s"] - r["import_s"]
    return {"rows": n, "files": len(list(path.glob("*.parquet"))), "mlcompass": m, "hand_written_sql": s,
            "peak_rss_mb_max": max(r["peak_rss_mb"] for v in runs.values() for r in v),
            "ratio_slices_to_sql": m["slices_s"] / s["slices_s"], "ratio_total_to_sql": m["total_s"] / s["total_s"],
            "mlcompass_compare": mcmp, "hand_written_sql_compare": scmp,
            "ratio_compare_to_sql": mcmp["slices_s"] / scmp["slices_s"], "ratio_compare_total_to_sql": mcmp["total_s"] / scmp["total_s"],
            "ratio_total_without_imports_to_sql": no_imports(m) / no_imports(s),
            "ratio_compare_total_without_imports_to_sql": no_imports(mcmp) / no_imports(scmp),
            "mlcompass_discover": disc, "ratio_discover_to_sql": disc["slices_s"] / s["slices_s"],
            "ratio_discover_total_without_imports_to_sql": no_imports(disc) / no_imports(s)}


def main():
    small = "--small" in sys.argv
    n_mem, n_pq = (1_000_000, 10_000_000) if small else (10_000_000, 100_000_000)
    out = {"machine": f"{os.cpu_count()} cores", "in_memory": in_memory(n_mem)}
    print(json.dumps(out["in_memory"], indent=1), flush=True)
    out["parquet_duckdb"] = parquet_case(n_pq)
    print(json.dumps(out["parquet_duckdb"], indent=1), flush=True)
    if not small: (HERE / "results_engines.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
