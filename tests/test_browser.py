"""End to end in a real browser: JupyterLab 4 on loopback, Debian's Chromium driven by Playwright.

Opens a notebook, runs it, changes a control in the dashboard's Slices tab and sees the table change, tags two
examples in the error tagger and finds them in the store on disk, and saves screenshots to test-artifacts/.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                                reason="Chromium is not installed (CI installs it with apt-get)")

CELLS = [
    """import numpy as np, pandas as pd, mlcompass as mc
rng = np.random.default_rng(0)
n = 800
data = pd.DataFrame({"device": rng.choice(["ios", "android", "web"], n), "noise": rng.choice(["none", "car", "people"], n)})
y = rng.integers(0, 2, n)
pred = np.where(rng.random(n) < np.where(data["noise"] == "car", .3, .08), 1 - y, y)
ev = mc.Evaluation(y, pred, data=data)""",
    """dash = ev.widget(by=["noise"])
dash.tab.selected_index = 1
dash""",
    """tagger = mc.ErrorTagger(ev, tags=["car noise", "mislabeled"], store="tags.csv")
tagger""",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on loopback, with no token and no announcements, serving tmp_path."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "dashboard.ipynb")
    conf = tmp_path / "jupyter-config"
    (conf / "labconfig").mkdir(parents=True)
    (conf / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(conf), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/api/status", timeout=1)
            break
        except OSError:
            if proc.poll() is not None: break
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
    if proc.poll() is not None: pytest.fail("JupyterLab exited:\n" + (tmp_path / "lab.log").read_text()[-3000:])
    yield url, tmp_path
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()


def test_dashboard_and_tagger_in_jupyterlab(lab):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, root = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/dashboard.ipynb", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus", timeout=60_000)
            time.sleep(2)
            page.click("text=Run", timeout=30_000)
            page.click("text=Run All Cells", timeout=30_000)
            # the dashboard renders as a live widget, on its Slices tab
            slices = page.locator(".widget-tab").first
            slices.wait_for(timeout=90_000)
            page.wait_for_function("document.body.innerText.includes(\"noise == 'car'\")", timeout=90_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-dashboard.png"))
            # change a control: slice by device instead of noise
            page.locator("select[multiple]").first.select_option("device")
            page.wait_for_function("document.body.innerText.includes(\"device == 'web'\")", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-slices-by-device.png"))
            # tag two examples in the tagger
            page.get_by_role("button", name="1. car noise").first.click()
            page.wait_for_timeout(500)
            page.get_by_role("button", name="next ▶").first.click()
            page.wait_for_timeout(500)
            page.get_by_role("button", name="2. mislabeled").first.click()
            deadline = time.time() + 30
            store = root / "tags.csv"
            while time.time() < deadline:
                if store.exists():
                    tags = pd.read_csv(store, dtype=str, keep_default_na=False)
                    if sorted(tags["tags"]) == ["car noise", "mislabeled"]: break
                time.sleep(0.5)
            page.locator("text=tagged 2").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tagger.png"))
        finally:
            browser.close()
    tags = pd.read_csv(root / "tags.csv", dtype=str, keep_default_na=False)
    assert sorted(tags["tags"]) == ["car noise", "mislabeled"] and tags["id"].nunique() == 2
