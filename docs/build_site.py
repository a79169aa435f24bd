"""Build the documentation site offline: the README, the course (tutorials/) and the library's notebooks (nbs/) as a
static site in build/site, with MkDocs and mkdocs-jupyter; then fail on any broken internal link.

    python3 tasks.py docs              # what CI runs: notebooks executed, links checked
    python3 tasks.py docs --no-execute # quicker: the notebooks as stored (no outputs)
"""
from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "build" / "docs-src"
SITE = ROOT / "build" / "site"
# repository files that become pages, and where
PAGES = {"README.md": "index.md", "tutorials/README.md": "tutorials/index.md", "bench/README.md": "bench.md",
         "mlcompass/data/README.md": "data.md"}
LINK = re.compile(r"(\[[^\]]*\]\()([^)\s]+)(\))")


def page_of(repo_path: str) -> str | None:
    "The site page a repository path becomes, if any."
    if repo_path in PAGES: return PAGES[repo_path]
    if re.fullmatch(r"nbs/[^/]+\.ipynb", repo_path): return "api/" + repo_path.split("/", 1)[1]
    if re.fullmatch(r"tutorials/[^/]+\.ipynb", repo_path): return repo_path
    return None


def rewrite(text: str, source: str, target: str) -> str:
    """Markdown links of `source` (a repository path), rewritten for its page `target`: links to repository files that
    are pages point at those pages; links to other repository files point at copies under files/."""
    def fix(m):
        url = m.group(2)
        parts = urlsplit(url)
        if parts.scheme or url.startswith(("#", "mailto:")) or not parts.path: return m.group(0)
        repo = os.path.normpath(os.path.join(os.path.dirname(source), unquote(parts.path))).replace(os.sep, "/")
        if (ROOT / repo).is_dir() and (ROOT / repo / "README.md").is_file(): repo = repo + "/README.md"
        dest = page_of(repo)
        if dest is None:
            if not (ROOT / repo).is_file(): return m.group(0) # left as it is: the link check reports it
            dest = "files/" + repo
            (SRC / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / repo, SRC / dest)
        rel = os.path.relpath(dest, os.path.dirname(target) or ".").replace(os.sep, "/")
        return m.group(1) + rel + (("#" + parts.fragment) if parts.fragment else "") + m.group(3)
    return LINK.sub(fix, text)


def executed(book: dict, repo: str) -> dict:
    """The notebook run top to bottom on a fresh kernel: nbdev notebooks in nbs/ (as nbdev-test runs them), lessons in a
    scratch folder with course.py beside them (as a learner runs them). Cells nbdev does not test are skipped."""
    import tempfile
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.reads(json.dumps(book), as_version=4)
    with tempfile.TemporaryDirectory() as scratch:
        cwd = ROOT / "nbs" if repo.startswith("nbs/") else Path(scratch)
        if repo.startswith("tutorials/"): shutil.copy2(ROOT / "tutorials" / "course.py", scratch)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return json.loads(nbformat.writes(nb))


def sources(execute: bool = False):
    "Copy the pages into build/docs-src, links rewritten; notebooks executed when `execute`, the course's solutions left out."
    shutil.rmtree(SRC, ignore_errors=True)
    SRC.mkdir(parents=True)
    for repo, dest in PAGES.items():
        (SRC / dest).parent.mkdir(parents=True, exist_ok=True)
        (SRC / dest).write_text(rewrite((ROOT / repo).read_text(), repo, dest))
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")) + sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb")):
        repo = nb.relative_to(ROOT).as_posix()
        dest = SRC / page_of(repo)
        dest.parent.mkdir(parents=True, exist_ok=True)
        book = json.loads(nb.read_text())
        for cell in book["cells"]: # markdown links rewritten as for the pages
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "code" and re.search(r"^#\|\s*(notest|eval:\s*false)\b", text, re.M): # nbdev's "not run in tests"
                cell.setdefault("metadata", {}).setdefault("tags", []).append("skip-execution") # nbclient skips these
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                cell["source"] = rewrite(text, repo, page_of(repo))
        if execute: book = executed(book, repo)
        book["cells"] = [c for c in book["cells"] if "solution" not in c.get("metadata", {}).get("tags", [])] # the course's answers
        dest.write_text(json.dumps(book, indent=1))
    shutil.copy2(ROOT / "tutorials" / "course.py", SRC / "tutorials" / "course.py")


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if (k == "href" and tag in ("a", "link")) or (k == "src" and tag in ("img", "script")):
                if v: self.urls.append(v)


def broken_links(site: Path) -> list:
    "Every internal link of the site whose target does not exist: (page, url)."
    bad = []
    for page in sorted(site.rglob("*.html")):
        p = _Links()
        p.feed(page.read_text(errors="replace"))
        for url in p.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("#", "mailto:", "data:", "javascript:")): continue
            path = unquote(parts.path)
            if not path: continue
            target = (page.parent / path).resolve() if not path.startswith("/") else (site / path.lstrip("/")).resolve()
            if not (target.is_file() or (target / "index.html").is_file()):
                bad.append((str(page.relative_to(site)), url))
    return bad


def main(argv):
    execute = "--no-execute" not in argv
    sources(execute)
    cfg = (ROOT / "mkdocs.yml").read_text()
    (ROOT / "build" / "mkdocs.yml").write_text(cfg.replace("docs_dir: build/docs-src", "docs_dir: docs-src").replace("site_dir: build/site", "site_dir: site"))
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONWARNINGS="ignore")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--clean", "-q", "-f", str(ROOT / "build" / "mkdocs.yml")], cwd=ROOT, env=env)
    if res.returncode: sys.exit(f"mkdocs build failed ({res.returncode}).")
    bad = broken_links(SITE)
    if bad:
        for page, url in bad: print(f"broken link on {page}: {url}", file=sys.stderr)
        sys.exit(f"{len(bad)} broken internal link(s) in the site.")
    print(f"docs: {len(list(SITE.rglob('*.html')))} pages in {SITE.relative_to(ROOT)}, no broken internal link.")


if __name__ == "__main__":
    main(sys.argv[1:])
