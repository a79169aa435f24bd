"""Drift and performance estimation on engines: 10 million rows per period in Polars, 100 million Parquet rows per period in DuckDB.

    python bench/bench_production.py            # 10M in Polars, 100M in Parquet (generated once under /tmp)
    python bench/bench_production.py --small    # 1M / 10M rows, for a quick look

Each period holds `region` (8 values), `device` (12) and `plan` (5), a score, its decision at 0.5 and a label; the current
period is drawn with other hashes and a shifted score. Both calls slice by the three features (depth 1):

- `mc.drift(reference, current, by=BY)`: each slice's share in both periods with intervals and tests, the positive rate and mean
  score per slice, each feature's test, the model's outputs; plus the reference's own slice accuracies (`ev.slices`).
- `mc.estimate_performance(reference, current, by=BY)`: isotonic calibration on the reference's score cells, expected confusion
  per slice, 400 bootstrap replicates of the reference and draws of the labels to come, with the current period's labels.

The floor they are compared with is the hand-written grouped count that carries the same information: per feature, one
`GROUP BY feature, prediction, score cell, label` with the row count and the sums of the score and its square, on each
period (in Polars: `group_by(...).agg(...)`; in DuckDB: the SQL). Both periods of a case are the same kind of source; the
reference is an Evaluation built on it (its checks are one more query). Best of `REPEAT` runs, in one process; the machine is
shared. Results go to bench/results_production.json.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("MLCOMPASS_BENCH_DATA", "/tmp/mlcompass-bench"))
BY = ["region", "device", "plan"]
REPEAT = 2
CELLS = 200


def rows_sql(n: int, seed: int, shift: float) -> str:
    "n rows of one period, generated inside DuckDB from hashes of the row number; `shift` moves the scores of region 'north'."
    return f"""
        WITH r AS (
          SELECT ['north','south','east','west','centre','islands','abroad','unknown'][CAST(1 + hash(i * 3 + {seed}) % 8 AS BIGINT)] AS region,
                 CAST(hash(i * 5 + {seed + 1}) % 12 AS INTEGER) AS device,
                 ['free','basic','plus','pro','team'][CAST(1 + hash(i * 13 + {seed + 2}) % 5 AS BIGINT)] AS plan,
                 (hash(i * 7 + {seed + 3}) % 1000000) / 1e6 AS u, (hash(i * 11 + {seed + 4}) % 1000) / 1000.0 AS v
          FROM range({n}) t(i))
        SELECT region, device, plan, LEAST(u + CASE WHEN region = 'north' THEN {shift} ELSE 0 END, 0.999999) AS score,
               CAST(v < LEAST(u + CASE WHEN region = 'north' THEN {shift} ELSE 0 END, 0.999999) AS INTEGER) AS y,
               CAST(LEAST(u + CASE WHEN region = 'north' THEN {shift} ELSE 0 END, 0.999999) > 0.5 AS INTEGER) AS pred
        FROM r"""


def parquet(n: int, name: str, seed: int, shift: float) -> Path:
    "A folder of Parquet files with n rows of one period, written by DuckDB (once)."
    out = DATA / f"period_{name}_{n}"
    if (out / "done").exists(): return out
    import duckdb
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=false")
    con.execute(f"COPY ({rows_sql(n, seed, shift)}) TO '{out}' (FORMAT parquet, PER_THREAD_OUTPUT true, OVERWRITE_OR_IGNORE true)")
    (out / "done").write_text("ok")
    return out


def best(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return min(times), out


def floor_polars(frames):
    import polars as pl
    for f in frames:
        f = f.lazy().with_columns(cell=(pl.col("score") * CELLS).floor().clip(0, CELLS - 1).cast(pl.Int64))
        for b in BY: f.group_by(b, "pred", "cell", "y").agg(pl.len(), pl.col("score").sum().alias("s"), (pl.col("score") ** 2).sum().alias("s2")).collect()


def floor_duckdb(con, paths):
    for p in paths:
        for b in BY:
            con.execute(f"""SELECT {b}, pred, LEAST(GREATEST(FLOOR(score * {CELLS}), 0), {CELLS - 1}) AS cell, y, count(*), sum(score), sum(score * score)
                            FROM read_parquet('{p}/*.parquet') GROUP BY ALL""").fetchall()


def case(name, reference_source, current_source, floor, rows):
    import mlcompass as mc
    make = lambda: mc.Evaluation.from_frame(reference_source, y_true="y", y_pred="pred", y_score="score", features=BY)
    t_ev, ev = best(make, 1)
    t_drift, d = best(lambda: mc.drift(make(), current_source, by=BY, y_pred="pred", y_score="score"))
    t_est, e = best(lambda: mc.estimate_performance(make(), current_source, by=BY, y_pred="pred", y_score="score", y_true="y"))
    t_floor, _ = best(floor)
    out = {"case": name, "rows_per_period": rows, "evaluation_s": round(t_ev, 3), "drift_s": round(t_drift, 3), "estimate_s": round(t_est, 3),
           "grouped_count_floor_s": round(t_floor, 3), "drift_vs_floor": round(t_drift / t_floor, 2), "estimate_vs_floor": round(t_est / t_floor, 2),
           "moved_slices": int(len(d.moved())), "estimated_accuracy": round(e.overall["accuracy_estimate"], 4),
           "realised_accuracy": round(e.overall["accuracy_realised"], 4), "reference_accuracy": round(e.overall["accuracy_reference"], 4)}
    print(json.dumps(out), flush=True)
    return out


def main():
    small = "--small" in sys.argv
    n_mem, n_pq = (1_000_000, 10_000_000) if small else (10_000_000, 100_000_000)
    import duckdb, polars as pl
    results = []
    con = duckdb.connect()
    ref_mem = con.sql(rows_sql(n_mem, 1, 0.0)).pl()
    cur_mem = con.sql(rows_sql(n_mem, 101, 0.15)).pl()
    results.append(case("Polars (in memory)", ref_mem, cur_mem, lambda: floor_polars([ref_mem, cur_mem]), n_mem))
    del ref_mem, cur_mem
    ref_pq, cur_pq = parquet(n_pq, "reference", 1, 0.0), parquet(n_pq, "current", 101, 0.15)
    results.append(case("DuckDB (Parquet)", str(ref_pq), str(cur_pq), lambda: floor_duckdb(duckdb.connect(), [ref_pq, cur_pq]), n_pq))
    import platform
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "load": os.getloadavg(), "small": small}
    (HERE / ("results_production_small.json" if small else "results_production.json")).write_text(json.dumps({"meta": meta, "results": results}, indent=1))


if __name__ == "__main__":
    main()
