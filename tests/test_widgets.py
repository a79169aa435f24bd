"""Widgets driven from Python, the tagger's store, tags as data, and the static render through nbconvert."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import mlcompass as mc


@pytest.fixture
def ev():
    rng = np.random.default_rng(0)
    n = 1200
    data = pd.DataFrame({"device": rng.choice(["ios", "android", "web"], n), "noise": rng.choice(["none", "car", "people"], n),
                         "sex": rng.choice(["F", "M"], n)}, index=pd.Index([f"clip-{i}" for i in range(n)]))
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < np.where(data["noise"] == "car", .3, .08), 1 - y, y)
    score = np.clip(np.where(pred == 1, .7, .3) + rng.normal(0, .15, n), 0, 1)
    return mc.Evaluation(pd.Series(y, index=data.index), pd.Series(pred, index=data.index), data=data, y_score=score)


def test_slices_tab_follows_its_controls_and_equals_the_public_call(ev):
    dash = ev.widget(by=["noise"])
    assert "noise == &#x27;car&#x27;" in dash.views["Slices"].value
    dash.features.value = ("device", "noise")
    dash.depth.value = 2
    pd.testing.assert_frame_equal(dash.results["Slices"].to_frame(),
                                  ev.slices(by=["device", "noise"], max_depth=2, metrics=["accuracy"]).to_frame())
    assert "device == &#x27;web&#x27; &amp; noise == &#x27;car&#x27;" in dash.views["Slices"].value
    dash.metric.value = "recall"
    assert dash.results["Slices"].metric_names == ["recall"]
    assert "ev.slices(by=[&#x27;device&#x27;, &#x27;noise&#x27;], max_depth=2, metrics=[&#x27;recall&#x27;]" in dash.views["Slices"].value


def test_every_tab_renders_and_errors_show_in_the_view(ev):
    dash = ev.widget(baselines=[mc.HumanLevel(0.95), mc.PreviousSystem(ev.y_true, name="oracle")], by=["noise"], sensitive=["sex"])
    for t in ("Compare", "Discover", "Classes", "Fairness", "Examples"):
        dash._render(t)
        assert dash.views[t].error is None, (t, dash.views[t].error)
        assert "<table" in dash.views[t].value, t
    assert "human-level" in dash.views["Compare"].value and "Fairness by sex" in dash.views["Fairness"].value
    before = dash.views["Classes"].value
    dash.threshold.value = 0.8  # the confusion matrix, the curve's operating point and the per-class table all move
    after = dash.views["Classes"].value
    assert "At threshold 0.80" in after
    charts = lambda v: [p.split('"', 1)[0] for p in v.split('src="data:image/png;base64,')[1:]]
    assert len(charts(after)) == 2 and all(a != b for a, b in zip(charts(before), charts(after)))
    at = ev.y_pred.copy(); at[:] = (ev.proba[:, 1] >= 0.8).astype(at.dtype)
    want = mc.Evaluation(ev.y_true, at, y_score=ev.proba[:, 1]).classes().to_frame()
    pd.testing.assert_frame_equal(dash.results["Classes"].to_frame(), want)
    dash.features.value = ()
    assert dash.views["Slices"].error is not None and "choose at least one feature" in dash.views["Slices"].value


def test_examples_tab_shows_the_rows_of_a_slice(ev):
    "One click on a slice in the Slices tab's list opens its errors: paged, sortable, ids kept, wrong predictions marked."
    dash = ev.widget(by=["noise"])
    assert dash.open_slice["Slices"].options[0] == "noise == 'car'"  # worst first, as the table
    dash.open_slice["Slices"].value = "noise == 'car'"  # the click
    assert dash.tab.selected_index == mc.widgets.TABS.index("Examples")
    dash.tab.selected_index = mc.widgets.TABS.index("Slices")
    dash.open_button["Slices"].click()  # and again with the button
    assert dash.tab.selected_index == mc.widgets.TABS.index("Examples")
    df = dash.results["Examples"]
    car = ev.data["noise"].to_numpy() == "car"
    wrong = ev.y_true != ev.y_pred
    assert len(df) == (car & wrong).sum() and (df["noise"] == "car").all() and "score (1)" in df.columns
    assert df.index[0].startswith("clip-")  # stable ids, not positions
    v = dash.views["Examples"].value
    assert f"{len(df):,} errors in noise == &#x27;car&#x27;: page 1 of {-(-len(df) // 25)}" in v and 'class="mc-fail"' in v
    dash.sort_by.value = "score (1)"; dash.descending.value = True
    top = dash.results["Examples"]["score (1)"].to_numpy()
    assert (np.diff(top) <= 0).all()
    dash.next_page.click()
    assert dash.page.value == 2 and "page 2 of" in dash.views["Examples"].value
    dash.errors_only.value = False  # a new filter starts again at page 1
    assert dash.page.value == 1 and len(dash.results["Examples"]) == car.sum()


def test_drill_down_from_discovered_slices_tree_leaves_comparison_and_fairness(ev):
    dash = ev.widget(baselines=[mc.HumanLevel(0.95)], by=["noise", "device"], sensitive=["sex"])
    dash.discover_features.value = ("noise", "device")
    for method in ("sliceline", "tree"):
        dash.method.value = method
        dash.run_discover.click()
        found = dash.results["Discover"]
        assert found.method == method and dash.open_slice["Discover"].options
        first = dash.open_slice["Discover"].options[0]
        dash.open_examples(first, "Discover")
        rows = dash.results["Examples"]
        want = np.asarray(found.masks[0], bool) & (ev.y_true != ev.y_pred)
        assert len(rows) == want.sum() and set(rows.index) == set(ev.index[want])
    dash.tree_depth.value = 1  # the tree answers its own depth
    assert dash.results["Discover"].method == "tree" and len(dash.results["Discover"].frame) <= 2
    dash._render("Compare")
    dash.open_examples("device == 'web'", "Compare")
    assert (dash.results["Examples"]["device"] == "web").all()
    dash._render("Fairness")
    dash.open_examples(dash.open_slice["Fairness"].options[0], "Fairness")
    assert dash.results["Examples"]["sex"].nunique() == 1


def test_dashboard_mime_bundle_has_a_static_twin(ev):
    b = ev.widget(by=["noise"])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in b
    assert "<table" in b["text/html"] and "<script" not in b["text/html"]


def test_tagger_writes_at_once_and_resumes(ev, tmp_path):
    store = tmp_path / "tags.csv"
    tg = mc.ErrorTagger(ev, tags=["car noise", "mislabeled"], store=store)
    assert tg.current_id.startswith("clip-")
    a = tg.current_id
    tg.tag(a, "car noise")
    saved = pd.read_csv(store, dtype=str, keep_default_na=False)
    assert saved.loc[saved["id"] == a, "tags"].item() == "car noise"  # on disk the moment it changed
    tg.next_b.click()
    b = tg.current_id
    tg.tag_box.children[1].value = True  # the "mislabeled" toggle button
    tg.note.value = "speaker unclear"
    saved = pd.read_csv(store, dtype=str, keep_default_na=False).set_index("id")
    assert saved.loc[b, "tags"] == "mislabeled" and saved.loc[b, "note"] == "speaker unclear"
    tg.untag(a, "car noise")
    again = mc.ErrorTagger(ev, tags=["car noise"], store=store)
    assert again.pos == 2 and set(again.tags["id"]) == {a, b}
    assert again.counts().to_dict() == {"mislabeled": 1}
    assert not list(tmp_path.glob(".tags-*"))  # no temporary file left behind


def test_tagger_bad_input(ev, tmp_path):
    (tmp_path / "notes.csv").write_text("who,what\nx,y\n")
    with pytest.raises(ValueError, match="is not a tag store"):
        mc.ErrorTagger(ev, store=tmp_path / "notes.csv")
    assert (tmp_path / "notes.csv").read_text() == "who,what\nx,y\n"  # never overwritten
    with pytest.raises(ValueError, match="example ids must be unique"):
        mc.ErrorTagger(ev, store=tmp_path / "t.csv", id_column="device")
    with pytest.raises(ValueError, match="the filter leaves no example to tag"):
        mc.ErrorTagger(ev, store=tmp_path / "t.csv", filter=np.zeros(ev.n, bool))


def test_tags_as_data_count_untagged_examples(ev, tmp_path):
    store = tmp_path / "tags.csv"
    tg = mc.ErrorTagger(ev, tags=["car noise"], store=store)
    ids = []
    for _ in range(3):
        tg.tag(tg.current_id, "car noise"); ids.append(tg.current_id); tg.go(tg.pos + 1)
    tg.set_note(tg.current_id, "looked, no tag")
    evt = ev.with_tags(store)
    assert evt.data["tag: car noise"].sum() == 3 and evt.data["tagged"].sum() == 4
    f = evt.slices(by=["tags"], metrics=["accuracy"]).to_frame().set_index("tags")
    assert f.loc["car noise", "n"] == 3 and f.loc[mc.tags.UNTAGGED, "n"] == ev.n - 3 and f["n"].sum() == ev.n
    # the tagger reviewed errors only: a comparison by tag would show accuracy 0 per tag, so it gives the error analysis
    et = mc.compare(evt, [mc.HumanLevel(0.95)], by="tags", metric="accuracy")
    assert isinstance(et, mc.ErrorTags) and et.to_frame().set_index("tag").loc["car noise", "errors"] == 3


def test_import_does_not_load_ipywidgets():
    out = subprocess.run([sys.executable, "-c", "import mlcompass, sys; print('ipywidgets' in sys.modules); mlcompass.ErrorTagger; print('ipywidgets' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


@pytest.mark.parametrize("saved_state", [False, True])
def test_executed_notebook_converted_to_html_shows_the_tables(tmp_path, saved_state):
    """Execute a notebook with the dashboard and convert it to HTML: the static tables are there and escaped.
    Without saved widget state (papermill, nbclient store_widget_state=False) nbconvert falls back to the twin by
    itself; with saved state (a notebook saved from JupyterLab), static_notebook() makes it so."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    code = textwrap.dedent("""
        import numpy as np, mlcompass as mc
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 500)
        ev = mc.Evaluation(y, np.where(rng.random(500) < .2, 1 - y, y), data={"city": rng.choice(["<lyon>", "nice"], 500)})
        ev.widget(by=["city"])
    """)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=saved_state).execute()
    out = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in out and "text/html" in out
    if saved_state: nb = mc.widgets.static_notebook(nb)
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert "city == '&lt;lyon&gt;'" in body and "accuracy" in body  # the static table, escaped (nbconvert re-serialises &#x27; as ')
    assert "<lyon>" not in body
    assert "widget-view+json" not in body and "widget-state+json" not in body  # nothing that needs a CDN


TAGGER_WORKER = """
import sys, numpy as np, pandas as pd, mlcompass as mc
n = 600
rng = np.random.default_rng(0)
y = rng.integers(0, 2, n)
ev = mc.Evaluation(y, 1 - y, data=pd.DataFrame({"case_id": [f"c{i}" for i in range(n)], "g": rng.choice(["a", "b"], n)}), ids="case_id")
tg = mc.ErrorTagger(ev, tags=["seen"], store=sys.argv[1])
for i in range(int(sys.argv[2]), n, 2): tg.tag(f"c{i}", "seen")  # this process's half, disjoint from the other's
"""


def test_two_taggers_in_two_processes_lose_no_tag(tmp_path):
    "Two kernels tagging disjoint examples into one store at full speed: every tag is on disk, and no temporary file is left."
    store = tmp_path / "tags.csv"
    procs = [subprocess.Popen([sys.executable, "-c", TAGGER_WORKER, str(store), str(k)], stderr=subprocess.PIPE, text=True) for k in (0, 1)]
    for p in procs: assert p.wait(300) == 0, p.stderr.read()[-2000:]
    recs, id_column = mc.tags.read_store(store)
    assert len(recs) == 600 and all(r["tags"] == ["seen"] for r in recs.values()) and id_column == "case_id"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tags.csv.lock", "tags.csv"]


def test_the_id_is_no_feature_and_the_store_remembers_it(tmp_path):
    rng = np.random.default_rng(1)
    n = 2000
    data = pd.DataFrame({"case_id": np.arange(n) * 7 + 100000, "site": rng.choice(["a", "b", "c"], n)})
    y = rng.integers(0, 2, n)
    ev = mc.Evaluation(y, np.where(rng.random(n) < np.where(data["site"] == "c", .4, .1), 1 - y, y), data=data, ids="case_id")
    assert list(ev.data.columns) == ["site"] and ev.index.name == "case_id"
    assert not any("case_id" in s for s in ev.discover(k=10).to_frame()["slice"])
    assert "case_id" not in ev.widget().features.options
    tg = mc.ErrorTagger(ev, tags=["glare"], store=tmp_path / "t.csv")
    tg.tag(tg.current_id, "glare")
    first = tg.current_id
    assert mc.tags.read_store(tmp_path / "t.csv")[1] == "case_id"
    again = mc.Evaluation(ev.y_true, ev.y_pred, data=data, ids="case_id")
    assert again.with_tags(tmp_path / "t.csv").data.loc[again.index.get_loc(int(first)), "tag: glare"]  # no id_column= needed
    plain = mc.Evaluation(ev.y_true, ev.y_pred, data=data)  # ids are positions here, not case ids: refused, not misjoined
    with pytest.raises(ValueError, match="identified by 'case_id'"): mc.ErrorTagger(plain, store=tmp_path / "t.csv")
    assert plain.with_tags(tmp_path / "t.csv").data["tag: glare"].sum() == 1  # the store names its id column; found among the data


def test_a_killed_writers_temporary_file_is_removed_and_pressed_tags_show(ev, tmp_path):
    store = tmp_path / "tags.csv"
    tg = mc.ErrorTagger(ev, tags=["car noise", "blurry"], store=store)
    (tmp_path / ".tags.csv.99999.tmp").write_text("half")
    tg.tag(tg.current_id, "car noise")
    assert not (tmp_path / ".tags.csv.99999.tmp").exists()
    styles = {b.tooltip: (b.value, b.button_style, b.icon) for b in tg.tag_box.children}
    assert styles == {"car noise": (True, "info", "check"), "blurry": (False, "", "")}


def test_a_saved_notebook_shows_the_last_state_not_the_first(tmp_path):
    """Executed and saved, the dashboard's and the tagger's outputs show what the user did after displaying them: the twin is
    kept under a display id and replaced on every change (nbclient applies update_display_data as JupyterLab does)."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    setup = textwrap.dedent("""
        import numpy as np, mlcompass as mc
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 500)
        ev = mc.Evaluation(y, np.where(rng.random(500) < .2, 1 - y, y), data={"city": rng.choice(["lyon", "nice"], 500), "size": rng.choice(["S", "L"], 500)})
        dash = ev.widget(by=["city"])
        dash
    """)
    cells = [setup, 'dash.features.value = ("size",)',
             f'tg = mc.ErrorTagger(ev, tags=["glare"], store={str(tmp_path / "t.csv")!r})\ntg',
             "for _ in range(5): tg.tag(tg.current_id, 'glare'); tg.go(tg.pos + 1)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    twin = lambda cell: "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs if o.get("metadata", {}) is not None)
    dash_html, tagger_html = twin(nb.cells[0]), twin(nb.cells[2])
    assert "size == &#x27;S&#x27;" in dash_html and "city == &#x27;lyon&#x27;" not in dash_html.split("<h4>Slices</h4>")[1].split("<h4>")[0]
    assert "5 of" in tagger_html and "glare" in tagger_html
    body, _ = HTMLExporter().from_notebook_node(mc.widgets.static_notebook(nb))
    assert "size == &#x27;S&#x27;" in body or "size == 'S'" in body


def test_the_heat_map_follows_its_controls_and_opens_a_cell(ev):
    dash = ev.widget(by=["noise", "device"])
    dash.tab.selected_index = mc.widgets.TABS.index("Heat map")
    sf = dash.results["Heat map"]
    assert sf.by == ["noise", "device"] and sf.metric_names == ["error_rate"]
    want = ev.slices(by=["noise", "device"], max_depth=2, metrics=["error_rate"], min_support=1).to_frame()
    pd.testing.assert_frame_equal(sf.to_frame(), want)
    assert 'class="mlcompass-heatmap"' in dash.views["Heat map"].value
    before = dash.views["Heat map"].value
    dash.heat_cols.value = "sex"
    assert dash.results["Heat map"].by == ["noise", "sex"] and dash.views["Heat map"].value != before
    cell = "noise == 'car' & sex == 'F'"
    assert cell in dash.open_slice["Heat map"].options
    dash.open_examples(cell, "Heat map")
    rows = dash.results["Examples"]
    want = (ev.data["noise"].to_numpy() == "car") & (ev.data["sex"].to_numpy() == "F") & (ev.y_true != ev.y_pred)
    assert len(rows) == want.sum()
    dash.heat_cols.value = "noise"
    assert "choose two different features" in dash.views["Heat map"].value


def test_a_saved_cohort_is_a_column_in_every_picker_and_in_compare(ev):
    dash = ev.widget(by=["noise"])
    dash.open_examples("noise == 'car'", "Slices")
    dash.cohort_name.value = "car clips"
    dash.save_cohort_button.click()
    assert "cohort: car clips" in dash.features.options and "cohort: car clips" in dash.sensitive.options
    assert "cohort: car clips" in dash.heat_rows.options and "cohort: car clips" in dash.discover_features.options
    assert dash.cohorts["car clips"].sum() == (ev.data["noise"] == "car").sum()
    dash.features.value = ("cohort: car clips",)
    f = dash.results["Slices"].to_frame().set_index("slice")
    assert f.loc["`cohort: car clips` == True", "n"] == (ev.data["noise"] == "car").sum()
    cmp = mc.compare(dash.ev, [mc.HumanLevel(0.95)], by="cohort: car clips")
    assert "`cohort: car clips` == True" in set(cmp.to_frame()["slice"])
    again = ev.with_cohorts(dash.cohorts).with_cohorts({"web": ev.data["device"].to_numpy() == "web"})  # replaces, never stacks
    assert [c for c in again.data.columns if c.startswith("cohort: ")] == ["cohort: web"]
    with pytest.raises(ValueError, match="must be a boolean mask of 1200 examples"): ev.with_cohorts({"bad": [1, 0]})
    dash.cohort_name.value = ""
    dash.save_cohort_button.click()
    assert "a cohort needs a name" in dash.cohort_note.value


def test_examples_show_text_images_and_audio(tmp_path):
    "Named text, image and audio columns are shown with each example (self-contained: data URIs), and are never features."
    import wave
    rng = np.random.default_rng(0)
    n = 60
    for i in range(3):
        with wave.open(str(tmp_path / f"a{i}.wav"), "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b"\0\0" * 800)
    data = pd.DataFrame({"g": rng.choice(["x", "y"], n), "text": [f"utterance <{i}> with some words" for i in range(n)],
                         "img": [rng.integers(0, 255, (8, 8)).astype(np.uint8) for _ in range(n)],
                         "wav": [str(tmp_path / f"a{i % 3}.wav") for i in range(n)]})
    y = rng.integers(0, 2, n)
    ev = mc.Evaluation(y, 1 - y, data=data)
    dash = ev.widget(by=["g"], text="text", image="img", audio="wav")
    assert dash.features.options == ("g",)
    dash._render("Examples")
    v = dash.views["Examples"].value
    assert v.count('<img src="data:image/png;base64,') == 25 and v.count("<audio controls") == 25
    assert "utterance &lt;0&gt; with some words" in v and "utterance <0>" not in v  # text escaped
    with pytest.raises(ValueError, match="image='nope' is not a column"): ev.widget(image="nope")


def test_saved_cohorts_are_kept_on_disk_and_come_back(ev, tmp_path):
    "With cohorts= a file, a saved cohort survives the kernel: a new dashboard on the same file offers it again, same members."
    store = tmp_path / "cohorts.csv"
    dash = ev.widget(by=["noise"], cohorts=store)
    dash.open_examples("noise == 'car'", "Slices")
    dash.save_cohort("car clips")
    dash.open_examples("noise == 'people'", "Slices")
    dash.save_cohort("car clips")  # the same name again: the members are replaced, not added
    again = ev.widget(by=["noise"], cohorts=store)
    assert "cohort: car clips" in again.features.options
    assert (again.cohorts["car clips"] == (ev.data["noise"] == "people").to_numpy()).all()
    assert mc.tags.read_store(store)[1] == mc.tags.INDEX


def test_one_click_on_a_row_or_a_cell_opens_its_slice(ev):
    """In every tab that shows slices, each slice is clickable where it is drawn (a row's first cell, a heat map's cell), and the
    click opens it; the lists give way to a hint once the clicks' script reports that it runs."""
    from mlcompass.widgets import OPENERS, SliceClicks, openable_in
    assert SliceClicks is not None  # anywidget is a dependency
    dash = ev.widget(baselines=[mc.HumanLevel(0.95)], by=["noise", "device"], sensitive=["sex"])
    for tab in OPENERS: dash._render(tab) if tab != "Discover" else dash.run_discover.click()
    assert all(dash.open_list[t].layout.display != "none" for t in OPENERS)  # until the script runs, the lists open slices
    dash.clicks._message(dash.clicks, {"ready": True})
    assert all(dash.open_list[t].layout.display == "none" and dash.open_hint[t].layout.display != "none" for t in OPENERS)
    for tab in OPENERS:
        shown = list(dash.openable[tab])
        assert shown and dash.clicks.openable[tab] == shown + list(dash.aliases.get(tab, {})), tab
        assert f'data-mc-view="{tab}"' in dash.views[tab].value and dash.css_id in dash._dom_classes
        assert openable_in(dash.views[tab].value, shown) == set(shown), (tab, set(shown) - openable_in(dash.views[tab].value, shown))
        dash.clicks.click(tab, shown[-1])  # what the browser sends on a click
        assert dash.shown_tab == "Examples" and dash.example_slice.value == (tab, shown[-1])
        assert dash.slice_rows((tab, shown[-1])).sum() >= len(dash.results["Examples"]) > 0
    dash.sensitive.value = ("sex", "device")  # a fairness group's row names it by its values: a click opens its slice
    group = "F & web"
    assert group in dash.clicks.openable["Fairness"] and openable_in(dash.views["Fairness"].value, [group]) == {group}
    dash.clicks.click("Fairness", group)
    assert dash.example_slice.value == ("Fairness", "sex == 'F' & device == 'web'")
    assert set(dash.results["Examples"]["sex"]) == {"F"} and set(dash.results["Examples"]["device"]) == {"web"}
    before = dash.example_slice.value
    dash.clicks.click("Slices", "not a slice")  # a stale click (the table was redrawn since) opens nothing
    assert dash.example_slice.value == before


def test_compare_tab_shows_what_changed_and_opens_a_regressed_slice():
    "With a previous system, the Compare tab also searches every column for slices where the model lost ground; a click opens one."
    rng = np.random.default_rng(1)
    n = 3000
    data = pd.DataFrame({"region": rng.choice(["north", "south", "east"], n), "device": rng.choice(["ios", "web"], n)})
    y = rng.integers(0, 2, n)
    broke = ((data["region"] == "north") & (data["device"] == "ios")).to_numpy()
    old = np.where(rng.random(n) < 0.12, 1 - y, y)
    new = np.where(rng.random(n) < np.where(broke, 0.35, 0.08), 1 - y, y)
    dash = mc.Evaluation(y, new, data=data).widget([mc.PreviousSystem(old)], by=["region"])  # the Slices tab names region only
    dash._render("Compare")
    reg = dash.results["Regressions"]
    assert reg.folded()["slice"].tolist() == ["region == 'north' & device == 'ios'"]
    assert "did worse than the previous system" in dash.views["Compare"].value
    dash.clicks.click("Compare", "region == 'north' & device == 'ios'")
    shown = dash.results["Examples"]
    assert len(shown) and set(shown["region"]) == {"north"} and set(shown["device"]) == {"ios"}


def test_production_tab_estimates_the_current_rows_and_shows_what_moved():
    r, c = mc.datasets.make_drift(n_reference=6000, n_current=2000, seed=5)
    ev = mc.Evaluation.from_frame(r, y_true="default", y_pred="flagged", y_score="score", features=["channel", "region"])
    cols = dict(y_pred="flagged", y_score="score", y_true="default")
    dash = ev.widget(by=["channel"], current=c, current_columns=cols)
    assert "Estimated performance" in dash.twin_html() # computed at once: the static twin shows it where widgets cannot run
    dash.tab.selected_index = mc.widgets.TABS.index("Production")
    view = dash.views["Production"].value
    assert dash.views["Production"].error is None and "Estimated performance (accuracy) on the current rows" in view and "What moved" in view
    pd.testing.assert_frame_equal(dash.results["Production"].to_frame(), mc.estimate_performance(ev, c, by=["channel"], **cols).to_frame())
    dash.features.value = ("channel", "region") # the Slices tab's features slice the estimate too
    assert "region == &#x27;north&#x27;" in dash.views["Production"].value
    assert "Production" in dash.twin_html()
    plain = ev.widget(by=["channel"])
    plain.tab.selected_index = mc.widgets.TABS.index("Production")
    assert "No production rows given" in plain.views["Production"].value
    with pytest.raises(ValueError, match="current_columns has key"): ev.widget(current=c, current_columns={"pred": "flagged"})
