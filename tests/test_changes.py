"""What changed: regressions between versions checked on Adult with real models and against brute force; the leaderboard's
p-values against statsmodels."""
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc


@pytest.fixture(scope="module")
def adult_models():
    "A logistic regression (the previous model) and a gradient-boosted model (the new one) trained on Adult, scored on its test split."
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    train, test = mc.datasets.load_adult("train"), mc.datasets.load_adult("test")
    cats = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex"]
    nums = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    y = (train["income"] == ">50K").astype(int)
    old = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), cats), (StandardScaler(), nums)),
                        LogisticRegression(max_iter=300)).fit(train[cats + nums], y)
    X = train[cats + nums].assign(**{c: train[c].astype("category") for c in cats})
    new = HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=0).fit(X, y)
    Xt = test[cats + nums].assign(**{c: pd.Categorical(test[c], categories=X[c].cat.categories) for c in cats})
    return test[cats + nums].reset_index(drop=True), (test["income"] == ">50K").astype(int).to_numpy(), old.predict(test[cats + nums]), new.predict(Xt)


def test_a_planted_regression_on_adult_is_found_first(adult_models):
    "The new model is better overall but was made worse on one two-feature slice nobody listed: it is the top regression."
    data, y, old, new = adult_models
    rng = np.random.default_rng(0)
    planted = ((data["relationship"] == "Husband") & (data["occupation"] == "Sales")).to_numpy()
    broken = np.where(planted & (rng.random(len(y)) < 0.35), 1 - y, new)  # wrong on a third of the slice
    assert (broken == y).mean() > (old == y).mean()  # overall accuracy still rises
    ev = mc.Evaluation(y, broken, data=data)
    reg = mc.regressions(ev, old, by=["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "age"])
    top = reg.folded().iloc[0]
    assert top["slice"] == "occupation == 'Sales' & relationship == 'Husband'"
    assert top["verdict"] == "worse" and top["p_value"] < 0.001 and top["change_ci_high"] < 0
    assert reg.overall["change"] > 0
    same = mc.regressions(mc.Evaluation(y, old, data=data), old)  # a model identical to the previous one
    assert len(same) == 0 and "nothing changed" in same.summary()


def test_the_search_equals_brute_force():
    """On a small problem, the exact search returns the top-k of every slice of up to three predicates, scored the same way
    (z = Σd / √Σd², McNemar's statistic), enumerated one by one; slices with the same rows count once, under the shortest name."""
    rng = np.random.default_rng(3)
    n = 1500
    data = pd.DataFrame({"a": rng.choice(list("pqrs"), n), "b": rng.choice(list("xyz"), n), "c": rng.choice(list("uv"), n)})
    y = rng.integers(0, 2, n)
    bad = ((data["a"] == "q") & (data["b"] == "y")).to_numpy() | (data["c"] == "v").to_numpy() & (rng.random(n) < 0.3)
    old = np.where(rng.random(n) < 0.15, 1 - y, y)
    new = np.where(rng.random(n) < np.where(bad, 0.3, 0.1), 1 - y, y)
    k, level, support = 8, 3, 40
    reg = mc.regressions(mc.Evaluation(y, new, data=data), old, k=k, max_level=level, min_support=support)
    d = (new != y).astype(float) - (old != y)
    preds = [(c, v) for c in data for v in sorted(data[c].unique())]
    scored, searched = [], 0
    for size in range(1, level + 1):
        for combo in itertools.combinations(preds, size):
            if len({c for c, _ in combo}) < size: continue
            mask = np.logical_and.reduce([(data[c] == v).to_numpy() for c, v in combo])
            if mask.sum() < support: continue
            z = d[mask].sum() / np.sqrt((d[mask] ** 2).sum())
            if z > 0: scored.append((-z, size, -mask.sum(), " & ".join(f"{c} == '{v}'" for c, v in combo), np.packbits(mask).tobytes()))
    want, seen = [], set()
    for z, _, _, name, sig in sorted(scored, key=lambda r: r[:3]):
        if sig not in seen: seen.add(sig); want.append((-z, name))
    want = want[:k]
    np.testing.assert_allclose(reg.frame["score"], [z for z, _ in want], rtol=0, atol=1e-12)
    assert reg.frame["slice"].tolist() == [s for _, s in want]
    assert reg.stats["exact"]


def test_leaderboard_p_values_equal_statsmodels():
    "Each run's p-value against the best: statsmodels' exact McNemar on the pair, Benjamini–Hochberg over every pair (multipletests)."
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.multitest import multipletests
    rng = np.random.default_rng(5)
    n = 3000
    y = rng.integers(0, 2, n)
    hard = rng.random(n) < 0.1
    preds = {f"m{i}": np.where(hard | (rng.random(n) < e), 1 - y, y) for i, e in enumerate((0.04, 0.045, 0.06, 0.09))}
    lb = mc.leaderboard({k: mc.Evaluation(y, p) for k, p in preds.items()})
    names = list(preds)
    pairs = list(itertools.combinations(range(len(names)), 2))
    raw = []
    for i, j in pairs:
        a, b = preds[names[i]] == y, preds[names[j]] == y
        raw.append(mcnemar([[(a & b).sum(), (a & ~b).sum()], [(~a & b).sum(), (~a & ~b).sum()]], exact=True).pvalue)
    adj = dict(zip(pairs, multipletests(raw, method="fdr_bh")[1]))
    f = lb.to_frame().set_index("run")
    best = names.index(lb.best)
    for r in names:
        if r == lb.best: continue
        i = names.index(r)
        assert f.loc[r, "p_value"] == pytest.approx(adj[tuple(sorted((i, best)))], abs=1e-12), r
    with pytest.raises(ValueError, match="paired=False"):
        mc.leaderboard({"a": mc.Evaluation(y, preds["m0"]), "b": mc.Evaluation(1 - y, preds["m1"])})  # other labels



def test_leaderboard_draws_fill_every_chunk():
    "Twelve runs' bootstrap is drawn in several chunks; every draw is filled: runs far apart keep narrow rank intervals, P(first) sums to 1."
    rng = np.random.default_rng(0)
    n = 16_000
    y = rng.integers(0, 2, n)
    runs = {f"r{i:02d}": mc.Evaluation(y, np.where(rng.random(n) < 0.80 + 0.01 * i, y, 1 - y)) for i in range(12)}
    f = mc.leaderboard(runs).to_frame().set_index("run")
    assert f.loc["r11", "rank_high"] <= 3 and f.loc["r00", "rank_low"] >= 10, f[["rank", "rank_low", "rank_high"]]
    assert f["p_first"].sum() == pytest.approx(1.0, abs=0.01)
    assert f.loc["r00", "p_first"] == 0
