#!/usr/bin/env python3
"""The project's task runner; needs nothing but Python 3.11+.

    python3 tasks.py example   # the full error-analysis report on the bundled UCI Adult example; prints report.html
    python3 tasks.py test      # everything CI runs: nbdev-clean and nbdev-export leave no diff, the docs build with no
                               # broken link, nbdev-test, pytest
    python3 tasks.py bench     # the benchmarks in bench/
    python3 tasks.py docs      # the documentation site, offline, in build/site (notebooks executed; links checked)
    python3 tasks.py setup     # only create/refresh .venv

Each task creates `.venv` (and installs the project into it, editable, with its dev extras) when it is missing
or older than pyproject.toml.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".mlcompass-installed"


def sh(*cmd, check=True, **kw):
    print("$", " ".join(map(str, cmd)), flush=True)
    res = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kw)
    if check and res.returncode != 0:
        sys.exit(res.returncode)
    return res


def setup():
    "Create .venv and install the project (editable, with dev extras) when missing or stale."
    if sys.version_info < (3, 11):
        sys.exit(f"mlcompass needs Python >= 3.11; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        sh(sys.executable, "-m", "venv", VENV)
    if not STAMP.exists() or STAMP.stat().st_mtime < (ROOT / "pyproject.toml").stat().st_mtime:
        sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        sh(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
        STAMP.touch()


def _snapshot(patterns):
    "Content hashes of the files matching `patterns` (relative to the repo root)."
    files = sorted({p for pat in patterns for p in ROOT.glob(pat) if p.is_file()})
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _no_diff(step, cmd, patterns, hint):
    "Run `cmd` and fail if it changed any file matching `patterns`."
    before = _snapshot(patterns)
    sh(*cmd)
    after = _snapshot(patterns)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        print(f"\n{step} changed {len(changed)} file(s): {', '.join(changed)}\n{hint}", file=sys.stderr)
        sys.exit(1)
    print(f"{step}: no diff", flush=True)


def example(*args):
    setup()
    sh(BIN / "mlcompass", "example", "--overwrite", *args)  # the example owns reports/adult-example


def test(*pytest_args):
    setup()
    _no_diff("nbdev-clean", [BIN / "nbdev-clean"], ["nbs/*.ipynb"],
             "Notebooks were not clean: run `.venv/bin/nbdev-clean` and commit the result.")
    _no_diff("nbdev-export", [BIN / "nbdev-export"], ["mlcompass/**/*.py"],
             "The library was out of sync with nbs/: run `.venv/bin/nbdev-export` and commit mlcompass/.")
    sh(BIN / "python", "docs/build_site.py", "--no-execute") # the site builds and no internal link is broken
    sh(BIN / "nbdev-test")
    # pytest last, so that its summary line closes the output
    sh(BIN / "python", "-m", "pytest", *pytest_args)


def docs(*args):
    setup()
    sh(BIN / "python", "docs/build_site.py", *args)


def bench(*args):
    setup()
    sh(BIN / "python", "bench/bench_import.py")
    sh(BIN / "python", "bench/bench_slices.py", *args)
    sh(BIN / "python", "bench/bench_discovery.py")
    sh(BIN / "python", "bench/bench_widgets.py")
    sh(BIN / "python", "bench/bench_engines.py")
    sh(BIN / "python", "bench/bench_guards.py", "--json", "bench/results_guards.json")


TASKS = {"setup": setup, "example": example, "test": test, "bench": bench, "docs": docs}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    TASKS[sys.argv[1]](*sys.argv[2:])
