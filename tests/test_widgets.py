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
    dash.threshold.value = 0.8
    assert "at threshold 0.80" in dash.views["Classes"].value
    dash.features.value = ()
    assert dash.views["Slices"].error is not None and "choose at least one feature" in dash.views["Slices"].value


def test_examples_tab_shows_the_rows_of_a_slice(ev):
    dash = ev.widget(by=["noise"])
    dash._render("Examples")
    dash.example_slice.value = "noise == 'car'"
    df = dash.results["Examples"]
    car = ev.data["noise"].to_numpy() == "car"
    wrong = ev.y_true != ev.y_pred
    assert len(df) == (car & wrong).sum() and (df["noise"] == "car").all()
    assert df.index[0].startswith("clip-")  # stable ids, not positions


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
    assert f.loc["car noise", "n"] == 3 and f.loc[mc.widgets.UNTAGGED, "n"] == ev.n - 3 and f["n"].sum() == ev.n
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
