"""What changed, timed against what a user would otherwise write, in the same run.

    .venv/bin/python bench/bench_changes.py [--json bench/results_changes.json]

1. `mc.regressions` on 1,000,000 rows (three string features of 10 values and a numeric one): the exact search over every
   slice of up to two predicates, each found slice checked paired — beside `ev.discover` (the same search on the new model's
   errors alone: it should cost about the same), and against a loop that builds the mask of every slice of
   up to two predicates and runs statsmodels' exact McNemar test on it (one library call per slice, no search).
2. `mc.leaderboard` of 10 runs on 100,000 rows with 200 bootstrap draws: paired changes, rank intervals and letters —
   against the usual loop: statsmodels' McNemar on every pair of runs, and 200 resamples of the rows scored with
   scikit-learn's accuracy_score for every run (the rank interval).
Each is timed three times; the median is reported.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

import mlcompass as mc

warnings.filterwarnings("ignore")


def median_time(fn, reps=3):
    times = []
    for _ in range(reps):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def regressions_case():
    n = 1_000_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: pd.Series(np.array([f"{c}{i}" for i in range(10)])[rng.integers(0, 10, n)]) for c in "abc"})
    df["age"] = rng.integers(18, 90, n)
    y = rng.integers(0, 2, n)
    hit = ((df["a"] == "a3") & (df["b"] == "b7")).to_numpy()
    old = np.where(rng.random(n) < 0.12, 1 - y, y)
    new = np.where(rng.random(n) < np.where(hit, 0.3, 0.08), 1 - y, y)
    ev = mc.Evaluation(y, new, data=df)
    # each two-feature slice holds about 1% of the rows: min_support at half that, for the search and for discover alike
    ours, reg = median_time(lambda: mc.regressions(ev, old, max_level=2, min_support=5000))
    disc, _ = median_time(lambda: ev.discover(max_level=2, min_support=5000)) # the same search on the new model's errors alone

    def naive():
        from statsmodels.stats.contingency_tables import mcnemar
        a, b = new == y, old == y
        cols = {c: df[c].to_numpy() for c in "abc"}
        cols["age"] = pd.qcut(df["age"], 5, duplicates="drop").astype(str).to_numpy()
        preds = [(c, v) for c in cols for v in np.unique(cols[c])]
        ps = []
        for i, (c, v) in enumerate(preds):
            m1 = cols[c] == v
            for mask in [m1] + [m1 & (cols[c2] == v2) for c2, v2 in preds[i + 1:] if c2 != c]:
                aa, bb = a[mask], b[mask]
                ps.append(mcnemar([[(aa & bb).sum(), (aa & ~bb).sum()], [(~aa & bb).sum(), (~aa & ~bb).sum()]], exact=True).pvalue)
        return len(ps)
    theirs, tested = median_time(naive, reps=1)
    return {"rows": n, "mlcompass_s": round(ours, 3), "discover_s": round(disc, 3), "loop_s": round(theirs, 3), "ratio": round(theirs / ours, 1),
            "slices_searched": int(reg.stats["searched"]), "slices_tested_by_loop": tested,
            "found": reg.folded()["slice"].tolist()}


def leaderboard_case():
    n, R, B = 100_000, 10, 200
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, n)
    hard = rng.random(n) < 0.1
    preds = {f"run {i}": np.where(hard | (rng.random(n) < 0.05 + 0.002 * i), 1 - y, y) for i in range(R)}
    evs = {k: mc.Evaluation(y, p, name=k) for k, p in preds.items()}
    ours, lb = median_time(lambda: mc.leaderboard(evs, n_boot=B))

    def naive():
        from sklearn.metrics import accuracy_score
        from statsmodels.stats.contingency_tables import mcnemar
        names = list(preds)
        p = {}
        for i in range(R):
            for j in range(i + 1, R):
                a, b = preds[names[i]] == y, preds[names[j]] == y
                p[i, j] = mcnemar([[(a & b).sum(), (a & ~b).sum()], [(~a & b).sum(), (~a & ~b).sum()]], exact=True).pvalue
        r = np.random.default_rng(0)
        ranks = []
        for _ in range(B):
            idx = r.integers(0, n, n)
            acc = [accuracy_score(y[idx], preds[k][idx]) for k in names]
            ranks.append(np.argsort(np.argsort(-np.array(acc))) + 1)
        return np.percentile(ranks, [2.5, 97.5], axis=0)
    theirs, _ = median_time(naive, reps=1)
    return {"rows": n, "runs": R, "draws": B, "mlcompass_s": round(ours, 3), "loop_s": round(theirs, 3), "ratio": round(theirs / ours, 1),
            "best": lb.best}


if __name__ == "__main__":
    res = {"regressions": regressions_case(), "leaderboard": leaderboard_case()}
    for k, v in res.items(): print(k, v)
    if "--json" in sys.argv: open(sys.argv[sys.argv.index("--json") + 1], "w").write(json.dumps(res, indent=1) + "\n")
