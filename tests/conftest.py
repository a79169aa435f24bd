import os

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
