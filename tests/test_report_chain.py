"""The CI chain around `mlcompass report`: the store lives where the caller runs, a regression gate always compares (or says
why it cannot), a failed or interrupted re-run keeps the previous report, exit codes mean what they say, a second report
into the same folder is refused, bad input is answered fast, and the report page fits 800 px in light and dark."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc

ART = Path(__file__).parent.parent / "test-artifacts"
GATES = '[gates]\nmin_overall = { accuracy = 0.5 }\nmax_regression = { accuracy = 0.005 }\n'


def cli(*args, cwd, wait=True):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "mlcompass.cli", *map(str, args)]
    if not wait: return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    "Predictions of a model on COMPAS-sized data, and worse ones (a regression), as a CI job would have them."
    d = tmp_path_factory.mktemp("chain")
    rng = np.random.default_rng(0)
    n = 3000
    g = rng.choice(["north", "south", "east"], n)
    y = rng.integers(0, 2, n)
    good = np.where(rng.random(n) < 0.12, 1 - y, y)
    worse = np.where(rng.random(n) < 0.06, 1 - good, good)  # 6% more flips: a clear regression
    pd.DataFrame({"y_true": y, "y_pred": good, "region": g}).to_csv(d / "good.csv", index=False)
    pd.DataFrame({"y_true": y, "y_pred": worse, "region": g}).to_csv(d / "worse.csv", index=False)
    (d / "gates.toml").write_text(GATES)
    return d


BASE = ["--y-true", "y_true", "--y-pred", "y_pred", "--by", "region", "--no-progress"]


def leftovers(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if ".building-" in p.name or p.name.endswith(".mlcompass-lock") or p.name.startswith("kernel"))


def test_the_documented_ci_workflow(work):
    "Run 1 logs main; run 2 (same working directory) compares with it and fails on the regression; run 3 on run 1's predictions passes."
    r1 = cli("report", "--predictions", "good.csv", *BASE, "--log", "main", "--out", "r1", cwd=work)
    assert r1.returncode == 0, r1.stderr[-2000:]
    assert (work / "mlcompass.db").exists() and not (work / "r1" / "mlcompass.db").exists()  # the caller's store, not the report's
    r2 = cli("report", "--predictions", "worse.csv", *BASE, "--previous", "last", "--gates", "gates.toml", "--out", "r2", cwd=work)
    assert r2.returncode == 1, r2.stderr[-2000:]
    s = json.loads((work / "r2" / "summary.json").read_text())
    reg = [r for r in s["gates"]["results"] if r["gate"] == "max regression" and r["scope"] == "overall"][0]
    assert reg["status"] == "fail"
    first = [f["finding"] for f in s["findings"] if f["question"] == "good enough"]
    assert any("Worse than previous overall" in f for f in first)
    md = (work / "r2" / "summary.md").read_text()
    assert "**Gates failed**" in md and "max regression" in md
    page = (work / "r2" / "report.html").read_text()
    assert page.index("Worse than previous overall") < page.index("Quality gates</h2>")  # the decision before the evidence
    r3 = cli("report", "--predictions", "good.csv", *BASE, "--previous", "last", "--gates", "gates.toml", "--out", "r3", cwd=work)
    assert r3.returncode == 0, r3.stderr[-2000:]
    assert not (work / "r2" / "mlcompass.db").exists() and not (work / "r3" / "mlcompass.db").exists()
    assert leftovers(work) == []


def test_previous_last_without_a_store_says_so(tmp_path, work):
    (tmp_path / "good.csv").write_text((work / "good.csv").read_text())
    (tmp_path / "gates.toml").write_text(GATES)
    res = cli("report", "--predictions", "good.csv", *BASE, "--previous", "last", "--gates", "gates.toml", "--out", "r", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "there is no run store at" in res.stderr and len([l for l in res.stderr.splitlines() if "no run store" in l]) == 1
    assert not (tmp_path / "mlcompass.db").exists() and not (tmp_path / "r" / "mlcompass.db").exists()  # reading never creates one
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "no run store" in s["previous_missing"]
    reg = [r for r in s["gates"]["results"] if r["gate"] == "max regression"][0]
    assert reg["status"] == "skipped" and "no run store" in reg["detail"]
    assert "no run store" in (tmp_path / "r" / "report.html").read_text()


def test_a_failed_rerun_keeps_the_previous_report(work):
    out = work / "keep"
    ok = cli("report", "--predictions", "good.csv", *BASE, "--out", out, cwd=work)
    assert ok.returncode == 0
    before = {f: (out / f).read_bytes() for f in ("report.html", "summary.json", "report.ipynb")}
    bad = cli("report", "--predictions", "good.csv", *BASE, "--out", out, "--overwrite", "-p", "max_depth=abc", cwd=work)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "stopped at cell" in bad.stderr and "previous report is kept" in bad.stderr
    assert {f: (out / f).read_bytes() for f in before} == before
    assert leftovers(work) == [] and leftovers(out) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_rerun_keeps_the_previous_report(work, sig):
    out = work / f"int{int(sig)}"
    assert cli("report", "--predictions", "good.csv", *BASE, "--out", out, cwd=work).returncode == 0
    before = (out / "summary.json").read_bytes()
    p = cli("report", "--predictions", "good.csv", *BASE, "--out", out, "--overwrite", cwd=work, wait=False)
    deadline = time.time() + 60
    while time.time() < deadline and not any(".building-" in q.name for q in work.iterdir()): time.sleep(0.1)
    time.sleep(1.0)  # the kernel is starting or running
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2, err
    assert "interrupted" in err
    assert (out / "summary.json").read_bytes() == before
    assert leftovers(work) == [] and leftovers(out) == []


def test_exit_2_for_kernel_and_template_failures(work, tmp_path):
    res = cli("report", "--predictions", "good.csv", *BASE, "--out", tmp_path / "k", "--kernel", "nope", cwd=work)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "no Jupyter kernel named 'nope'" in res.stderr, res.stderr
    (tmp_path / "t.ipynb").write_text("this is not a notebook")
    res = cli("report", "--predictions", "good.csv", *BASE, "--out", tmp_path / "t", "--template", tmp_path / "t.ipynb", cwd=work)
    assert res.returncode == 2 and "is not a readable notebook" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = cli("report", "--bogus", cwd=work)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--help" in res.stderr


def test_a_second_report_into_the_same_folder_is_refused(work):
    lock = work / ".busy.mlcompass-lock"
    lock.write_text(str(os.getpid()))  # a live process holds the folder
    try:
        res = cli("report", "--predictions", "good.csv", *BASE, "--out", "busy", cwd=work)
        assert res.returncode == 2 and "another report (process" in res.stderr, res.stderr
    finally: lock.unlink()
    lock.write_text("999999")  # a lock left by a killed run is taken over
    assert cli("report", "--predictions", "good.csv", *BASE, "--out", "busy", cwd=work).returncode == 0
    assert not lock.exists()


def test_bad_input_is_answered_within_a_second(work):
    t = time.perf_counter()
    res = cli("report", "--predictions", "nope.csv", *BASE, "--out", "x", cwd=work)
    took = time.perf_counter() - t
    assert res.returncode == 2 and "does not exist" in res.stderr
    assert took < 2.5, took  # about 0.8 s here: the heavy imports (papermill, nbformat) come only after the checks


def test_the_report_page_fits_and_leads_with_the_findings(work):
    "Chromium at 1280 and 800 px, light and dark: nothing overflows sideways, the findings are above the fold; printed, nothing is cut."
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright
    page_path = work / "r2" / "report.html"
    if not page_path.exists(): pytest.skip("needs the CI workflow test's report")
    ART.mkdir(exist_ok=True)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for w in (1280, 800):
            for scheme in ("light", "dark"):
                pg = b.new_page(viewport={"width": w, "height": 900}, color_scheme=scheme)
                pg.goto(page_path.as_uri())
                bad = pg.evaluate("""() => { const out = []; const d = document.documentElement;
                    if (d.scrollWidth > d.clientWidth) out.push('document');
                    for (const t of document.querySelectorAll('.mlcompass > div[style*="overflow"]'))
                        if (t.getBoundingClientRect().right > d.clientWidth + 1) out.push('table box');
                    return out; }""")
                assert bad == [], (w, scheme, bad)
                top = pg.evaluate("() => { const e = [...document.querySelectorAll('p')].find(p => p.textContent.startsWith('Is it good enough?'));"
                                  " return e ? e.getBoundingClientRect().top : 1e9; }")
                assert top < 900, (w, scheme, top)
                pg.screenshot(path=str(ART / f"report-{w}-{scheme}.png"))
                pg.close()
        # printed on A4 (794 px at 96 dpi), nothing scrolls: every table must fit its column, and the folded tables print open
        pg = b.new_page(viewport={"width": 794, "height": 1123})
        pg.emulate_media(media="print")
        pg.goto(page_path.as_uri())
        cut = pg.evaluate("""() => { const d = document.documentElement; const out = [];
            if (d.scrollWidth > d.clientWidth) out.push('document ' + d.scrollWidth);
            document.querySelectorAll('table.mlcompass-table').forEach((t, i) => {
                if (t.scrollWidth > t.parentElement.clientWidth + 1 || t.getBoundingClientRect().right > d.clientWidth + 1)
                    out.push(i + ': ' + t.rows[0].textContent.slice(0, 40)); });
            for (const x of document.querySelectorAll('details.mlcompass-fold table'))
                if (x.getBoundingClientRect().height === 0) out.push('a folded table is hidden in print');
            return out; }""")
        assert cut == [], cut
        pg.pdf(path=str(ART / "report-print.pdf"), format="A4", print_background=True)
        pg.close()
        b.close()


def test_a_previous_file_without_the_score_column_is_refused_before_the_kernel(tmp_path):
    pd.DataFrame({"y_true": [0, 1] * 50, "y_pred": [0, 1] * 50, "s": np.linspace(0, 1, 100)}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"y_true": [0, 1] * 50, "y_pred": [0, 1] * 50}).to_csv(tmp_path / "prev.csv", index=False)
    t = time.perf_counter()
    res = cli("report", "--predictions", "p.csv", "--y-score", "s", "--previous", "prev.csv", "--out", "o", cwd=tmp_path)
    assert res.returncode == 2 and "previous" in res.stderr and "has no column 's' (given as --y-score)" in res.stderr
    assert time.perf_counter() - t < 5 and not (tmp_path / "o").exists()
