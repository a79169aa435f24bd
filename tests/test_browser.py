"""End to end in a real browser: JupyterLab 4 on loopback, Debian's Chromium driven by Playwright.

Opens a notebook and runs it; changes a control in the dashboard's Slices tab and sees the table change; opens a slice's
examples with one click on its table row or its heat map cell; photographs every tab in the light and the dark theme; tags two examples by clicking and finds them
in the store on disk; saves the notebook and finds the last state (not the first) in its static twins. Screenshots go to
test-artifacts/.
"""
import contextlib
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
    """dash = ev.widget(by=["noise"], sensitive=["device"])
dash.tab.selected_index = 1
dash""",
    """tagger = mc.ErrorTagger(ev, tags=["car noise", "mislabeled"], store="tags.csv")
tagger""",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tmp_path, app):
    "A Jupyter server (`app`: jupyterlab or notebook, i.e. Notebook 7) on loopback, with no token and no announcements, serving tmp_path."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "dashboard.ipynb")
    conf = tmp_path / "jupyter-config"
    (conf / "labconfig").mkdir(parents=True, exist_ok=True)
    (conf / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(conf), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    cmd = [sys.executable, "-m", app, "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if app == "notebook": cmd = [c for c in cmd if not c.startswith("--LabApp.")]
    log = open(tmp_path / f"{app}.log", "w")
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
        pytest.fail(f"{app} did not start:\n" + (tmp_path / f"{app}.log").read_text()[-3000:])
    if proc.poll() is not None: pytest.fail(f"{app} exited:\n" + (tmp_path / f"{app}.log").read_text()[-3000:])
    return proc, url


@pytest.fixture
def lab(tmp_path):
    proc, url = serve(tmp_path, "jupyterlab")
    yield url, tmp_path
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()


@pytest.fixture
def notebook7(tmp_path):
    pytest.importorskip("notebook")
    proc, url = serve(tmp_path, "notebook")
    yield url, tmp_path
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()


@contextlib.contextmanager
def chromium_page(width):
    "A page of Debian's Chromium, headless, `width` px wide; closed on the way out."
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try: yield browser.new_page(viewport={"width": width, "height": 1000})
        finally: browser.close()


def run_all(page, url_path, settle=2):
    "Open the notebook at `url_path`, wait for its kernel, and run every cell from the menu, as a user would."
    page.goto(url_path, wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus", timeout=60_000)
    time.sleep(settle)
    page.click("text=Run", timeout=30_000)
    page.click("text=Run All Cells", timeout=30_000)


def open_row(page, label):
    "One click on the table row of slice `label` (the live view makes it clickable), then wait for its examples."
    page.locator(".mlcompass-dash tr.mc-open", has_text=label).first.click()
    page.wait_for_function(f"document.body.innerText.includes({json.dumps('errors in ' + label)})", timeout=30_000)


def shoot_tabs(page, theme):
    "Each tab of the dashboard, opened by a click, photographed on its own."
    dash = page.locator(".mlcompass-dash").first
    for tab in ("Overview", "Slices", "Heat map", "Compare", "Discover", "Classes", "Fairness", "Examples"):
        dash.locator(".lm-TabBar-tab", has_text=tab).first.click()
        if tab == "Discover": dash.get_by_role("button", name="Run discovery").click()
        page.wait_for_timeout(1500)
        dash.screenshot(path=str(ARTIFACTS / f"jupyterlab-{theme}-{tab.lower().replace(' ', '-')}.png"))


def test_dashboard_and_tagger_in_jupyterlab(lab):
    url, root = lab
    with chromium_page(1400) as page:
        run_all(page, f"{url}/lab/tree/dashboard.ipynb")
        # the dashboard renders as a live widget, on its Slices tab, led by its chart; the static twin beside it is hidden
        page.locator(".widget-tab").first.wait_for(timeout=90_000)
        page.wait_for_function("document.body.innerText.includes(\"noise == 'car'\")", timeout=90_000)
        assert page.locator(".mlcompass-dash img.mlcompass-chart:visible").count() >= 1
        assert not page.locator(".mlcompass-twin").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-dashboard.png"))
        # change a control: slice by device instead of noise
        page.locator(".mlcompass-dash select[multiple]").first.select_option("device")
        page.wait_for_function("document.body.innerText.includes(\"device == 'web'\")", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-slices-by-device.png"))
        # drill down: one click on a heat map's cell opens its examples; so does one click on a slice's row of a table.
        # The clicks' script runs here, so the "examples of" lists have given way to a hint.
        page.wait_for_function("document.body.innerText.includes('to see its examples')", timeout=30_000)
        assert page.locator(".mlcompass-dash .mc-open-list").count() and not page.locator(".mlcompass-dash .mc-open-list:visible").count()
        dash = page.locator(".mlcompass-dash").first
        dash.locator(".lm-TabBar-tab", has_text="Heat map").first.click()
        cell = dash.locator("td.mc-open[data-slice]").first
        label = cell.get_attribute("data-slice")
        cell.click()
        page.wait_for_function(f"document.body.innerText.includes({json.dumps('errors in ' + label)})", timeout=30_000)
        dash.locator(".lm-TabBar-tab", has_text="Slices").first.click()
        open_row(page, "device == 'web'")
        shoot_tabs(page, "light")
        # the dark theme: every tab again
        page.click("text=Settings"); page.hover("text=Theme"); page.click("text=JupyterLab Dark")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        page.wait_for_timeout(1000)
        shoot_tabs(page, "dark")
        ink = page.evaluate("""() => { const td = document.querySelector('.mlcompass-dash table.mlcompass-table td');
            return [getComputedStyle(td).color, getComputedStyle(document.body).backgroundColor]; }""")
        assert ink[0] != "rgb(0, 0, 0)", ink  # table text follows the theme, not fixed black on a dark page
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
        page.locator("text=2 looked at").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-tagger.png"))
        # save: the notebook on disk shows what the user last saw
        page.keyboard.press("Control+s")
        deadline = time.time() + 30
        while time.time() < deadline and "tagged" not in (root / "dashboard.ipynb").read_text(): time.sleep(0.5)
        time.sleep(2)
    tags = pd.read_csv(root / "tags.csv", dtype=str, keep_default_na=False)
    assert sorted(tags["tags"]) == ["car noise", "mislabeled"] and tags["id"].nunique() == 2
    saved = nbformat.read(root / "dashboard.ipynb", 4)
    twin = lambda cell: "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    assert "errors in device == &#x27;web&#x27;" in twin(saved.cells[1])  # the drill-down, not the first Slices view
    assert "Error tagger: 2 of" in twin(saved.cells[2])


def test_dashboard_in_notebook_7(notebook7):
    "Notebook 7: the live dashboard renders (its twin hidden), a slice opens its examples, and the saved file holds the last state."
    url, root = notebook7
    with chromium_page(1300) as page:
        run_all(page, f"{url}/notebooks/dashboard.ipynb", settle=3)
        page.wait_for_function("document.body.innerText.includes(\"noise == 'car'\")", timeout=90_000)
        assert page.locator(".mlcompass-dash img.mlcompass-chart:visible").count() >= 1
        assert not page.locator(".mlcompass-twin").first.is_visible()
        open_row(page, "noise == 'car'")
        page.locator(".mlcompass-dash").first.screenshot(path=str(ARTIFACTS / "notebook7-examples.png"))
        page.keyboard.press("Control+s")
        deadline = time.time() + 30
        while time.time() < deadline and "errors in noise" not in (root / "dashboard.ipynb").read_text(): time.sleep(0.5)
    saved = nbformat.read(root / "dashboard.ipynb", 4)
    assert "errors in noise == &#x27;car&#x27;" in "".join(o.get("data", {}).get("text/html", "") for o in saved.cells[1].outputs)
