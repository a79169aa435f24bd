import os

import pandas as pd
import pytest
from hypothesis import settings

# CI explores a fixed set of examples (reproducible runs); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_terminal_summary(terminalreporter):
    "How long each tutorial took to execute (recorded by tests/test_tutorials.py): each lesson should stay under 60 s."
    times = [(r.nodeid.split("[")[-1].rstrip("]"), dict(r.user_properties)["seconds"])
             for r in terminalreporter.stats.get("passed", []) if r.when == "call" and "seconds" in dict(r.user_properties)]
    if times:
        terminalreporter.write_sep("-", "tutorial execution times")
        for name, s in times: terminalreporter.write_line(f"{s:6.1f} s  {name}")


@pytest.fixture(params=["pandas", "polars", "parquet"])
def source(request, tmp_path):
    """A function turning a pandas frame into the same data in memory, in Polars, or as a Parquet file read by DuckDB:
    a test that takes `source` runs once on each engine. `source.engine` names the engine."""
    def make(df: pd.DataFrame):
        if request.param == "pandas": return df
        if request.param == "polars":
            import polars as pl
            return pl.from_pandas(df)
        path = tmp_path / f"data{len(list(tmp_path.iterdir()))}.parquet"
        df.to_parquet(path, index=False)
        return str(path)
    make.engine = request.param
    return make
