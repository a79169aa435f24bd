"""The documentation site's builder: repository links become site links, and a broken internal link is found."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("build_site", ROOT / "docs" / "build_site.py")
build_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_site)


def test_links_to_repository_files_become_links_to_pages(tmp_path, monkeypatch):
    monkeypatch.setattr(build_site, "SRC", tmp_path)
    text = ("[course](tutorials/) [lesson](tutorials/01_why_accuracy_is_not_enough.ipynb) [api](nbs/04_slices.ipynb#slices) "
            "[bench](bench/README.md) [workflow](docs/github-actions-report.yml) [web](https://example.org) [here](#speed)")
    out = build_site.rewrite(text, "README.md", "index.md")
    assert "[course](tutorials/index.md)" in out and "[lesson](tutorials/01_why_accuracy_is_not_enough.ipynb)" in out
    assert "[api](api/04_slices.ipynb#slices)" in out and "[bench](bench.md)" in out
    assert "[workflow](files/docs/github-actions-report.yml)" in out and (tmp_path / "files/docs/github-actions-report.yml").is_file()
    assert "[web](https://example.org)" in out and "[here](#speed)" in out
    # from a page one level down, the same targets are one level up
    out = build_site.rewrite("[home](../README.md) [wf](../docs/github-actions-report.yml)", "tutorials/README.md", "tutorials/index.md")
    assert out == "[home](../index.md) [wf](../files/docs/github-actions-report.yml)"


def test_broken_internal_links_are_found(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "index.html").write_text('<a href="api/a.html#x">a</a> <a href="b.html">b</a> <img src="img/c.png"> '
                                         '<a href="https://example.org/x.html">web</a> <a href="#top">top</a>')
    (tmp_path / "api" / "a.html").write_text('<a href="../index.html">home</a> <a href="../api/">api</a>')
    assert build_site.broken_links(tmp_path) == [("api/a.html", "../api/"), ("index.html", "b.html"), ("index.html", "img/c.png")]
