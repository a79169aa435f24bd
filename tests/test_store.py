"""The run store: concurrent writers, a killed writer, foreign and corrupt files, migration, paired comparison from a run."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc

WRITER = textwrap.dedent("""
    import sys, numpy as np, mlcompass as mc
    store, worker, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(worker)
    y = rng.integers(0, 2, 60)
    ev = mc.Evaluation(y, np.where(rng.random(60) < .2, 1 - y, y))
    for i in range(runs):
        mc.log_run(ev, name=f"worker-{worker}", params={"i": i}, store=store, metrics=["accuracy"], save_predictions=(i % 10 == 0))
""")


def test_eight_processes_fifty_runs_each(tmp_path):
    store = tmp_path / "mlcompass.db"
    mc.RunStore(store)  # created once; the writers race on inserts, not on creation
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(store), str(w), "50"], stderr=subprocess.PIPE, text=True)
             for w in range(8)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    runs = mc.runs(store=store)
    assert len(runs) == 400
    assert runs.groupby("name").size().tolist() == [50] * 8
    assert runs["id"].is_unique
    assert sorted(int(p["i"]) for p in runs.loc[runs["name"] == "worker-3", "params"]) == list(range(50))


def test_creation_race_is_safe(tmp_path):
    "Several processes opening a store that does not exist yet: one creates it, nobody fails."
    store = tmp_path / "fresh.db"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(store), str(w), "3"], stderr=subprocess.PIPE, text=True) for w in range(6)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert len(mc.runs(store=store)) == 18


def test_killed_writer_leaves_the_store_readable(tmp_path):
    store = tmp_path / "mlcompass.db"
    y = np.array([0, 1, 1, 0])
    mc.log_run(mc.Evaluation(y, y), name="before", store=store)
    hold = textwrap.dedent(f"""
        import sqlite3, time
        con = sqlite3.connect({str(store)!r}, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO runs (name, created, params, metrics) VALUES ('half-written', 'now', '{{}}', '{{}}')")
        print("inside", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "inside"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    runs = mc.runs(store=store)
    assert runs["name"].tolist() == ["before"]  # the uncommitted run is gone, the committed one intact
    mc.log_run(mc.Evaluation(y, y), name="after", store=store)
    assert mc.runs(store=store)["name"].tolist() == ["before", "after"]


def test_foreign_and_corrupt_files_are_refused_by_path(tmp_path):
    text = tmp_path / "readme.db"
    text.write_text("not a database")
    with pytest.raises(mc.store.StoreError, match=f"{text} is not an mlcompass run store"):
        mc.RunStore(text)
    assert text.read_text() == "not a database"
    foreign = tmp_path / "crm.db"
    con = sqlite3.connect(foreign); con.execute("CREATE TABLE clients (id INTEGER)"); con.commit(); con.close()
    with pytest.raises(mc.store.StoreError, match=r"is an SQLite database but not an mlcompass run store \(its tables: \['clients'\]\)"):
        mc.log_run(mc.Evaluation([0, 1], [0, 1]), name="x", store=foreign)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    with pytest.raises(mc.store.StoreError, match="corrupt"):
        mc.RunStore(corrupt)


def test_a_newer_schema_is_refused(tmp_path):
    store = tmp_path / "mlcompass.db"
    mc.RunStore(store)
    con = sqlite3.connect(store); con.execute("UPDATE mlcompass_meta SET value='99'"); con.commit(); con.close()
    with pytest.raises(mc.store.StoreError, match="schema version 99, newer than this mlcompass understands"):
        mc.RunStore(store)


def test_run_contents_and_previous_system_from_run(tmp_path):
    store = tmp_path / "runs" / "mlcompass.db"
    rng = np.random.default_rng(1)
    idx = pd.Index([f"ex{i}" for i in range(400)])
    g = pd.Series(rng.choice(["a", "b"], 400), index=idx)
    y = pd.Series(rng.choice(["cat", "dog"], 400), index=idx)
    flip = lambda p: pd.Series(np.where(rng.random(400) < p, np.where(y == "cat", "dog", "cat"), y), index=idx)
    old = mc.Evaluation(y, flip(.3), data=pd.DataFrame({"g": g}), pos_label="dog", y_score=rng.random(400))
    new = mc.Evaluation(y, flip(.1), data=pd.DataFrame({"g": g}), pos_label="dog", y_score=rng.random(400))
    rid = mc.log_run(old, name="prod", params={"depth": 3}, store=store, by=["g"], commit="abc123")
    run = mc.RunStore(store).get("prod")
    assert run["id"] == rid and run["params"] == {"depth": 3} and run["git_commit"] == "abc123"
    assert run["metrics"]["accuracy"]["value"] == pytest.approx(old.metrics(["accuracy"], ci=None)["accuracy"])
    assert set(run["slices"]["slice"]) == {"g == 'a'", "g == 'b'"}
    preds = mc.RunStore(store).predictions("last")
    assert preds["id"].tolist()[:2] == ["ex0", "ex1"] and "score_dog" in preds
    cmp = mc.compare(new, [mc.PreviousSystem.from_run("last", store=store)], metric="accuracy", by="g")
    f = cmp.to_frame()
    assert f.loc[0, "prod"] == pytest.approx(old.metrics(["accuracy"], ci=None)["accuracy"])
    assert f.loc[0, "prod_verdict"] == "better"
    auc = mc.compare(new, [mc.PreviousSystem.from_run(rid, store=store)], metric="roc_auc").to_frame()
    assert auc.loc[0, "prod"] == pytest.approx(old.metrics(["roc_auc"], ci=None)["roc_auc"])


# -- the store under faults ------------------------------------------------------------------------------------------------

def _small_ev():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    return mc.Evaluation(y, np.where(rng.random(200) < 0.1, 1 - y, y), data={"g": rng.choice(["a", "b"], 200)})


READ_ONLY_CHECK = """
import sys, mlcompass as mc, numpy as np
s = mc.RunStore(sys.argv[1])
assert s.read_only and list(s.runs()["name"]) == ["one"], (s.read_only, s.runs())
rng = np.random.default_rng(0); y = rng.integers(0, 2, 200)
try: s.log(mc.Evaluation(y, y), name="two")
except mc.store.StoreError as e: print("refused:", e)
"""


def test_a_read_only_store_is_read_and_refuses_writes_in_one_line(tmp_path):
    """A store on media its user cannot write: runs are read, a write is refused in one line. As root (who may write anywhere),
    the folder is bind-mounted read-only in a private mount namespace: real read-only media; otherwise its permissions are removed."""
    import stat
    folder = tmp_path / "ro"
    path = folder / "runs.db"
    mc.log_run(_small_ev(), name="one", store=path)
    env = {**os.environ, "PYTHONPATH": str(Path(mc.__file__).parent.parent), "PYTHONWARNINGS": "ignore"}
    check = [sys.executable, "-c", READ_ONLY_CHECK, str(path)]
    if os.geteuid() == 0:
        if not shutil.which("unshare"): pytest.skip("root without unshare: read-only media cannot be made here")
        mount = f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && exec \"$@\""
        run = subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", *check], capture_output=True, text=True, env=env, timeout=120)
        if "mount" in run.stderr and run.returncode != 0: pytest.skip(f"no private mounts here: {run.stderr.strip()[:200]}")
    else:
        for f in folder.rglob("*"): f.chmod(0o444)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try: run = subprocess.run(check, capture_output=True, text=True, env=env, timeout=120)
        finally:
            folder.chmod(stat.S_IRWXU)
            for f in folder.rglob("*"): f.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert run.returncode == 0, run.stderr[-2000:]
    line = run.stdout.strip()
    assert line.startswith("refused:") and "cannot be written" in line and str(path) in line and "\n" not in line, line


def test_a_corrupt_store_gets_one_line_naming_the_path(tmp_path):
    path = tmp_path / "runs.db"
    mc.log_run(_small_ev(), name="one", store=path)
    con = sqlite3.connect(path); con.execute("PRAGMA wal_checkpoint(TRUNCATE)"); con.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for i in range(page * 2, min(len(data), page * 4)): data[i] = 0xA5  # overwrite the pages of the runs table
    path.write_bytes(bytes(data))
    with pytest.raises(mc.store.StoreError) as e: mc.RunStore(path).runs()
    msg = str(e.value)
    assert str(path) in msg and "damaged" in msg and "\n" not in msg


def test_orphans_of_killed_writers_are_cleaned_on_open(tmp_path):
    path = tmp_path / "runs.db"
    mc.log_run(_small_ev(), name="one", store=path)
    preds = tmp_path / "runs-predictions"
    kept = list(preds.glob("*.parquet"))
    dead = preds / "abc.999999.tmp"; dead.write_bytes(b"partial")
    live = preds / f"def.{os.getpid()}.tmp"; live.write_bytes(b"being written")
    orphan = preds / "0123.parquet"; orphan.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    fresh = preds / "4567.parquet"; fresh.write_bytes(b"x")  # a live writer's file, its run not inserted yet
    mc.RunStore(path)
    assert not dead.exists() and live.exists() and not orphan.exists() and fresh.exists()
    assert all(p.exists() for p in kept)


def test_mlflow_round_trip(tmp_path, monkeypatch):
    """A local MLflow store (SQLite, as MLflow 3 defaults to; nothing needs a server): an evaluation logged with its intervals,
    predictions, slices and findings; read back as the previous system, paired; a result's table; runs without predictions refused."""
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy"), pytest.importorskip("alembic")
    import warnings
    warnings.filterwarnings("ignore", module="mlflow")
    monkeypatch.chdir(tmp_path)  # MLflow keeps the artifacts of a SQLite store in ./mlruns
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    rng = np.random.default_rng(0)
    n = 2000
    g = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    old = np.where(rng.random(n) < 0.15, 1 - y, y)
    new = np.where(rng.random(n) < np.where(g == "b", 0.3, 0.08), 1 - y, y)
    ev_old = mc.Evaluation(y, old, data={"g": g})
    rid = mc.to_mlflow(ev_old, run_name="v1", params={"depth": 3}, by=["g"], tracking_uri=uri)
    run = mlflow.get_run(rid)
    assert run.info.run_name == "v1" and run.data.params["depth"] == "3"
    for m, r in ev_old.metrics().to_frame().iterrows():
        if np.isfinite(r["value"]):
            assert run.data.metrics[m] == pytest.approx(r["value"], abs=1e-12)
            assert run.data.metrics[f"{m}_ci_low"] == pytest.approx(r["ci_low"], abs=1e-12)
    arts = {a.path.split("/")[-1] for a in mlflow.MlflowClient().list_artifacts(rid, "mlcompass")}
    assert {"predictions.parquet", "slices.csv", "slices.html", "findings.json", "findings.html"} <= arts
    prev = mc.PreviousSystem.from_mlflow(rid, tracking_uri=uri)
    assert prev.name == "v1"
    ev_new = mc.Evaluation(y, new, data={"g": g})
    head = mc.compare(ev_new, [prev]).to_frame().iloc[0]
    assert head["v1_change"] == pytest.approx((new == y).mean() - (old == y).mean(), abs=1e-12)
    reg = mc.regressions(ev_new, mc.PreviousSystem.from_mlflow(rid, tracking_uri=uri), by=["g"])
    assert reg.folded()["slice"].tolist() == ["g == 'b'"]
    with pytest.raises(ValueError, match="other examples or labels"):  # the run's fingerprint: other labels are refused
        mc.compare(mc.Evaluation(1 - y, new), [mc.PreviousSystem.from_mlflow(rid, tracking_uri=uri)])
    mc.to_mlflow(reg, run_id=rid)  # a result: its table and HTML
    assert "regressions.csv" in {a.path.split("/")[-1] for a in mlflow.MlflowClient().list_artifacts(rid, "mlcompass")}
    with mlflow.start_run() as bare: pass
    with pytest.raises(ValueError, match="has no mlcompass/predictions.parquet"):
        mc.PreviousSystem.from_mlflow(bare.info.run_id)
    run_id = mc.log_run(ev_new, name="v2", store=tmp_path / "runs.db", mlflow=True)  # the store and MLflow at once
    assert run_id >= 1 and any(r.info.run_name == "v2" for r in mlflow.search_runs(output_format="list"))
