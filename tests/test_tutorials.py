"""The course in tutorials/: every lesson executes without error (its exercise solutions passing their checks), has the
structure of a lesson, uses only the public API, and is listed in tutorials/README.md."""
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
LESSONS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
OPENING = "By the end of this lesson you will be able to"


def tags(cell):
    return set(cell.metadata.get("tags", []))


def hidden(cell):
    return bool(cell.metadata.get("jupyter", {}).get("source_hidden"))


def exercises(nb):
    "For each exercise cell: (exercise, solution, check), the first solution and check cells after it."
    cells = nb.cells
    out = []
    for i, c in enumerate(cells):
        if "exercise" not in tags(c): continue
        rest = cells[i + 1:]
        end = next((j for j, d in enumerate(rest) if "exercise" in tags(d)), len(rest))
        block = rest[:end]
        out.append((c, next((d for d in block if "solution" in tags(d)), None), next((d for d in block if "check" in tags(d)), None)))
    return out


def test_the_course_has_its_eight_lessons():
    assert [p.name[:2] for p in LESSONS] == [f"{i:02d}" for i in range(1, 9)], [p.name for p in LESSONS]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_structure(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert OPENING in nb.cells[0].source, f"{path.name} must open with '{OPENING} …'"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} is stored with outputs: clear them"
    found = exercises(nb)
    assert found, f"{path.name} has no exercise (a code cell tagged 'exercise')"
    for k, (ex, sol, chk) in enumerate(found, 1):
        assert ex.cell_type == "code" and re.search(r"^answer = None\b", ex.source, re.M), f"{path.name} exercise {k}: 'answer = None'"
        assert sol is not None and hidden(sol) and re.search(r"^solution = ", sol.source, re.M), \
            f"{path.name} exercise {k}: a collapsed solution cell (tag 'solution') that sets `solution`"
        assert "answer" not in re.findall(r"^(\w+)\s*=", sol.source, re.M), f"{path.name} exercise {k}: the solution must not set `answer`"
        assert chk is not None and "check(answer, solution," in chk.source, f"{path.name} exercise {k}: a check cell (tag 'check')"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_uses_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import mlcompass as mc" in source
    assert not re.search(r"^\s*(from|import) mlcompass\.", source, re.M), "import through `mc` only"
    private = re.findall(r"\.(_[A-Za-z]\w*)", source)
    assert not private, f"{path.name} uses private names {sorted(set(private))}"


def test_every_lesson_is_in_the_readme():
    readme = (TUTORIALS / "README.md").read_text()
    for path in LESSONS:
        assert f"({path.name})" in readme, f"{path.name} is missing from tutorials/README.md"


def test_check_reports_right_wrong_and_missing_answers(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(TUTORIALS))
    from course import check
    is_two = lambda a: a == 2
    check(2, 2, is_two); check(3, 2, is_two, hint="Add one and one."); check(None, 2, is_two)
    out = capsys.readouterr().out.splitlines()
    assert out == ["✓ Right.", "✗ Not yet. Add one and one.", "No answer yet: set `answer` in the exercise cell above and run this cell again."]
    with pytest.raises(AssertionError, match="reference solution fails its own check"):
        check(None, 3, is_two)
    def strict(a):  # raises as a lesson's `assert` does (pytest rewrites asserts in this file, not in notebooks)
        if not isinstance(a, int): raise AssertionError("answer with a whole number.")
        return a == 2
    check("2", 2, strict)
    assert capsys.readouterr().out.strip() == "✗ Not yet. answer with a whole number."


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_executes(path, tmp_path, monkeypatch, record_property):
    """Run the lesson top to bottom on a fresh kernel, in a temporary folder (with course.py beside it, as in
    tutorials/). One thread per kernel: the CI machine's two cores are shared with the rest of the suite, and OpenMP's
    spinning threads slow scikit-learn's gradient boosting tenfold when the other core is busy."""
    from nbclient import NotebookClient
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    shutil.copy(TUTORIALS / "course.py", tmp_path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 1))
    checks = [c for c in nb.cells if "check" in tags(c)]
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in checks]
    assert all("No answer yet" in p for p in printed), printed  # the solutions passed their checks
