"""The course in tutorials/: every lesson executes without error (its exercise solutions passing their checks), has the
structure of a lesson, uses only the public API, and is listed in tutorials/README.md; every check cell accepts the
answers a learner would give (exact, or copied from a table) and explains typical wrong ones."""
import re
import shutil
import tempfile
import time
from functools import cache
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
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


def test_the_course_has_its_ten_lessons():
    assert [p.name[:2] for p in LESSONS] == [f"{i:02d}" for i in range(1, 11)], [p.name for p in LESSONS]


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


@pytest.fixture
def course(monkeypatch):
    monkeypatch.syspath_prepend(str(TUTORIALS))
    import course
    return course


def verdict(course, capsys, answer, test):
    "What `check` prints for `answer` (with the hint 'HINT')."
    course.check(answer, "unused", test, hint="HINT")
    return capsys.readouterr().out.strip()


def test_check_prints_a_rough_pass_apart(course, capsys):
    assert verdict(course, capsys, 1, lambda a: course.ROUGHLY) == course.RIGHT_ROUGHLY == "✓ Right — give more decimals next time."
    course.check(None, 0.52, lambda a: course.close(a, 0.515))  # a rough solution still passes its own check
    assert capsys.readouterr().out.strip() == course.NO_ANSWER


# (answer, expected, keyword arguments of close, what check prints); the values are the lessons' own
CLOSE = [
    (0.515, 0.515, {}, "✓ Right."),
    (0.52, 0.515, {}, "✓ Right — give more decimals next time."),             # lesson 1, from the 3-decimal 0.515
    (0.51, 0.515, {}, "✓ Right — give more decimals next time."),             # the other way to round a tie
    ((0.901, 0.951), (0.9006910535722495, 0.9511283733002555), {}, "✓ Right."),  # lesson 2, from its table
    ((0.9, 0.95), (0.9006910535722495, 0.9511283733002555), {}, "✓ Right — give more decimals next time."),
    (0.8668, 0.8667994687915007, {}, "✓ Right."),
    (0.744, 0.7444444444444445, {}, "✓ Right."),
    ((0.477, 0.280), (0.4772256728778468, 0.27985270910047344), {}, "✓ Right."),  # 0.280 is the float 0.28
    ((0.3233, 0.363), (0.32325492296406444, 0.36300953567140615), {}, "✓ Right."),
    (0.2366, 0.23656494733999459, {}, "✓ Right."),
    (np.float64(0.237), 0.23656494733999459, {}, "✓ Right."),
    (0.23656494733999459 + 1e-12, 0.23656494733999459, {}, "✓ Right."),     # another route to the same value
    (pd.Series([0.477, 0.28]), (0.4772256728778468, 0.27985270910047344), {}, "✓ Right."),
    ([np.float64(0.477), np.float64(0.28)], (0.4772256728778468, 0.27985270910047344), {}, "✓ Right."),
    (np.array(0.744), 0.7444444444444445, {}, "✓ Right."),
    (-0.05, -0.05, {}, "✓ Right."),
    (6.8, 6.813020439061324, {"decimals": 1}, "✓ Right."),
    (np.int64(3), 3, {}, "✓ Right."),
    # not right to the decimals given: a truncated value, another slice's value, or nothing left of the value
    (0.236, 0.23656494733999459, {}, "✗ Not yet. HINT"),
    (0.230, 0.23656494733999459, {}, "✗ Not yet. HINT"),
    (0, 0.28, {}, "✗ Not yet. HINT"),
    (1, 0.901, {}, "✗ Not yet. HINT"),
    (-0.1, -0.05, {}, "✗ Not yet. HINT"),
    (0.5, 0.515, {}, "✗ Not yet. 0.5: too rounded to check; give at least two significant digits. HINT"),
    (7, 6.813020439061324, {"decimals": 1}, "✗ Not yet. 7: too rounded to check; give at least two significant digits. HINT"),
    # the nudges
    (51.5, 0.515, {"unit": "fraction"}, "✗ Not yet. 51.5: that looks like a percentage; give a fraction between 0 and 1 (0.07 for 7%). HINT"),
    (51.5, 0.515, {}, "✗ Not yet. HINT"),                                      # dollars: no percentage here
    (-5, -0.05, {"unit": "fraction"}, "✗ Not yet. -5: that looks like a percentage; give a fraction (0.07 for 7%). HINT"),
    ((47.7, 28.0), (0.4772256728778468, 0.27985270910047344), {"unit": "fraction"},
     "✗ Not yet. 47.7, 28.0: that looks like a percentage; give a fraction between 0 and 1 (0.07 for 7%). HINT"),
    ((0.477, 28.0), (0.4772256728778468, 0.27985270910047344), {"unit": "fraction"},
     "✗ Not yet. 28.0: that looks like a percentage; give a fraction between 0 and 1 (0.07 for 7%). HINT"),
    (0.06813, 6.813020439061324, {"unit": "points"}, "✗ Not yet. 0.06813: that looks like a fraction; give percentage points (7 for 0.07). HINT"),
    (0.05, -0.05, {}, "✗ Not yet. 0.05: the right size but the wrong sign. HINT"),
    ((0.280, 0.477), (0.4772256728778468, 0.27985270910047344), {"what": "a pair (caucasian, african_american)"},
     "✗ Not yet. the right values in the wrong order: answer with a pair (caucasian, african_american). HINT"),
    ((0.477, 0.448), (0.4772256728778468, 0.27985270910047344), {}, "✗ Not yet. the second value is not right; the first value is right. HINT"),
    ((0.1, 0.2), (0.4772256728778468, 0.27985270910047344), {}, "✗ Not yet. HINT"),
    ("0.515", 0.515, {"what": "a number (dollars per transaction)"},
     "✗ Not yet. '0.515' is text: answer with a number (dollars per transaction), without the quotes. HINT"),
    ("about half", 0.515, {}, "✗ Not yet. answer with a number, not the text 'about half'. HINT"),
    (True, 1, {}, "✗ Not yet. answer with a number, not True. HINT"),
    (float("nan"), 0.5, {}, "✗ Not yet. answer with a number, not nan. HINT"),
    ([0.515], 0.515, {}, "✗ Not yet. answer with a number, not a list of 1 value. HINT"),
    ({"low": 0.9}, (0.9, 0.95), {"what": "a pair (low, high)"}, "✗ Not yet. answer with a pair (low, high), not a dict. HINT"),
    (0.9, (0.9, 0.95), {"what": "a pair (low, high)"}, "✗ Not yet. answer with a pair (low, high), not a single number. HINT"),
    ((0.9, 0.95, 1.0), (0.9, 0.95), {"what": "a pair (low, high)"}, "✗ Not yet. answer with a pair (low, high): this has 3 values, not 2. HINT"),
    ((0.9, "0.95"), (0.9, 0.95), {}, "✗ Not yet. answer with 2 numbers, not a str among the values. HINT"),
]


@pytest.mark.parametrize("answer, expected, options, message", CLOSE, ids=lambda x: None)
def test_close(course, capsys, answer, expected, options, message):
    assert verdict(course, capsys, answer, lambda a: course.close(a, expected, **options)) == message


def test_close_passes_on_its_own_precision(course):
    """Any value rounded to 3 decimals or more passes; to 2 it passes roughly; one a unit off in its third decimal
    never passes fully (it may pass roughly when its float drops a trailing zero: 0.630 is 0.63)."""
    rng = np.random.default_rng(0)
    for expected in rng.uniform(0.1, 0.99, 300):
        for d in (3, 4, 6):
            assert course.close(round(expected, d), expected) is True
        full = round(expected, 3) == round(expected, 2)  # 0.340 is written 0.34
        assert course.close(round(expected, 2), expected) is (True if full else course.ROUGHLY)
        assert course.close(round(expected, 3) - 0.001, expected) is not True
        assert course.close(round(100 * expected, 1), expected) is False  # no unit given: no percentage nudge


def test_one_of_forgives_case_spaces_and_quotes(course, capsys):
    options = ["race == 'Black'", "race == 'White'", "`marital-status` == 'Married-civ-spouse'"]
    assert course.one_of(' RACE=="black"', options, what="a slice") == "race == 'Black'"
    assert course.one_of("marital-status == 'married-civ-spouse'", options, what="a slice") == options[2]
    test = lambda a: course.one_of(a, options, what="a slice of the race table") == "race == 'Black'"
    assert verdict(course, capsys, "Black", test) == "✗ Not yet. 'Black' is not a slice of the race table. HINT"
    assert verdict(course, capsys, 3, test) == "✗ Not yet. 3 is not a slice of the race table. HINT"
    assert verdict(course, capsys, "race == 'White'", test) == "✗ Not yet. HINT"


def test_same_texts(course, capsys):
    expected = ["end", "event", "is_recid"]
    cases = [(["END", " event", "is_recid "], "✓ Right."),
             (["is_recid", "end", "event"], "✗ Not yet. the right items, but not in the order asked: sort them. HINT"),
             (["end", "event"], "✗ Not yet. 1 item is missing from the list. HINT"),
             (["end"], "✗ Not yet. 2 items are missing from the list. HINT"),
             (["end", "event", "is_recid", "age"], "✗ Not yet. 'age' should not be in the list. HINT"),
             ("end", "✗ Not yet. answer with a list of names, not the text 'end'. HINT"),
             (["end", 3, "x"], "✗ Not yet. answer with a list of names, not 3 among the names. HINT")]
    for answer, message in cases:
        assert verdict(course, capsys, answer, lambda a: course.same_texts(a, expected, ordered=True)) == message, answer
    assert verdict(course, capsys, ["is_recid", "end", "event"], lambda a: course.same_texts(a, expected)) == "✓ Right."


# For every check cell, answers a learner would give, each with what the check must print. An answer is Python source
# run in the lesson's kernel right after the check cell, so it can use the lesson's names, `solution` among them; what
# the check prints must start with the first string and contain the others. The second answer is the solution as the
# lesson's tables show it (rounded, or for text, spelled differently); then typical wrong answers and their nudges.
RIGHT, ROUGHLY, NOT_YET = ("✓ Right.",), ("✓ Right — give more decimals next time.",), "✗ Not yet."
PERCENTAGE = "that looks like a percentage; give a fraction"


def wrong(*nudges):
    return (NOT_YET, *nudges)


ANSWERS = {
    ("01", 1): [("solution", RIGHT), ("'  RACE==\"black\" '", RIGHT),
                ("\"race == 'Amer-Indian-Eskimo'\"", wrong("has only 19 high earners: too few to judge.")),
                ("\"race == 'White'\"", wrong("Sort the groups that have enough high earners by recall.")),
                ("\"Black\"", wrong("'Black' is not a slice of the race table"))],
    ("01", 2): [("solution", RIGHT), ("round(solution, 3)", RIGHT), ("0.52", ROUGHLY),
                ("str(solution)", wrong("'0.515' is text: answer with a number (dollars per transaction), without the quotes.")),
                ("fraud['fraud'].mean()", wrong("Every fraud is missed and costs $100"))],
    ("02", 1): [("solution", RIGHT), ("(' Within the Noise', round(solution[1], 3))", RIGHT), ("('within the noise', 0.09)", wrong("too rounded")),
                ("('real', solution[1])", wrong("an adjusted p-value of 0.0854 is not below 0.05: the data cannot tell this gap from no gap")),
                ("(lambda car: ('real', mc.compare(mc.Evaluation(car['command'], car['prediction']), [mc.HumanLevel.from_labels("
                 "car['second_annotator'])]).to_frame()['gap_p_value'].iloc[0]))(speech[speech['condition'] == 'car noise'])",
                 wrong("is the p-value of car noise compared on its own", "adjusted for testing the four conditions")),
                ("('within the noise', 0.309)", wrong("0.309 compares the second annotator on car noise with the annotator on the other clips")),
                ("('within the noise', 0.917)", wrong("0.917 is an end of one system's own interval on car noise",
                                                      "Whether two intervals overlap is not a test")),
                ("'within the noise'", wrong('answer with a pair (verdict, p-value), for example ("real", 0.01).')),
                ("('maybe', solution[1])", wrong("'maybe' is not a verdict"))],
    ("02", 2): [("solution", RIGHT), ("round(solution, 4)", RIGHT), ("round(solution, 3)", RIGHT),
                ("100 * solution", wrong(PERCENTAGE)),
                ("ev_adult.metrics(['accuracy'])['accuracy']", wrong("Keep only the rows without any missing value"))],
    ("02", 3): [("solution", RIGHT), ("' Degree Rule'", RIGHT),
                ("'gradient boosting'", wrong("Keep the models whose p95_ms is under the budget")),
                ("'logistic regression'", wrong("Keep the models whose p95_ms is under the budget")),
                ("'trivial'", wrong("'trivial' is not one of the timed models."))],
    ("03", 1): [("solution", RIGHT), ("' Cut-Off'", RIGHT), ("'command cut off at the start'", RIGHT),
                ("'car noise'", wrong("on 4% of the clips it is worth 0.16 points, and 400 clips cannot tell its gap from zero.")),
                ("'low bandwidth'", wrong("the second annotator does no better there: nothing to gain.")),
                ("'Clean Speech'", wrong("Clean speech is worth 0.6 points, the cut-off clips 0.92 points")),
                ("'people noise'", wrong("Augmentation makes it cheap: a good second.")),
                ("'dog barking'", wrong("'dog barking' is not one of the tags"))],
    ("03", 2): [("solution", RIGHT), ("' Car Noise'", RIGHT), ("'people noise'", wrong("Potential gain = gap")),
                ("'car'", wrong("'car' is not one of the conditions"))],
    ("03", 3): [("solution", RIGHT), ("round(solution, 3)", RIGHT), ("100 * solution", wrong(PERCENTAGE)),
                ("overall", wrong("Overall accuracy rises by the gap"))],
    ("04", 1): [("solution", RIGHT), ("round(solution, 3)", RIGHT), ("round(100 * solution, 1)", wrong("74.4: " + PERCENTAGE)),
                ("ev_dev.thresholds([budget.threshold])['recall'].iloc[0]", wrong("Choose the threshold on dev"))],
    ("04", 2): [("solution", RIGHT), ("round(solution, 2)", RIGHT),
                ("round(100 * solution)", wrong("-5: that looks like a percentage; give a fraction (0.07 for 7%).")),
                ("-solution", wrong("0.05: the right size but the wrong sign.")), ("-0.1", wrong("the cheapest margin is below zero"))],
    ("04", 3): [("solution", RIGHT), ("' C '", RIGHT), ("'b'", wrong("overlapping intervals do not show that two decisions cost the same")),
                ("'a'", wrong("the dev figures are optimistic")), ("'d'", wrong("the dev figure is inside the test set's interval")),
                ("'e'", wrong("'e' is not one of the letters 'a', 'b', 'c' or 'd'.")), ("3", wrong("3 is not one of the letters"))],
    ("05", 1): [("solution", RIGHT), ("('Demographic Parity', ' equalised odds')", RIGHT),
                ("('equal opportunity', 'equalized odds')", wrong("For the offer: equal opportunity shares the discount fairly only among")),
                ("('demographic parity', 'predictive parity')", wrong("For detention: COMPAS nearly meets predictive parity (precision 63.0% against 59.1%)")),
                ("('demographic parity', 'equal opportunity')", wrong("For detention: equal opportunity equalises the TPR")),
                ("('predictive parity', 'demographic parity')", wrong("For the offer: predictive parity", "For detention: equal detention rates")),
                ("solution[::-1]", wrong("the right criteria in the wrong order: answer with a pair (offer, detention).")),
                ("'equalized odds'", wrong("answer with a pair (offer, detention) of criterion names.")),
                ("('demographic parity', 'fpr')", wrong("'fpr' is not one of the criteria"))],
    ("05", 2): [("solution", RIGHT), ("(round(solution[0], 4), round(solution[1], 3))", RIGHT),
                ("solution[::-1]", wrong("the right values in the wrong order")),
                ("tuple(1 / x for x in solution)", wrong("Both ratios are women's figure divided by men's.")),
                ("(solution[0], 1 / solution[1])", wrong("the second value is not right; the first value is right."))],
    ("06", 1): [("solution", RIGHT), ("' a '", RIGHT),
                ("'B'", wrong("A held up: in the check half its whole interval lies above the check half's error rate",
                              "B did not hold up: in the check half its interval contains the check half's error rate")),
                ("'both'", wrong("B did not hold up: in the check half its interval contains the check half's error rate; "
                                 "its search-half figures are the ones that got it picked.")),
                ("'neither'", wrong("A held up: in the check half its whole interval lies above the check half's error rate, "
                                    "whatever the search's adjusted p-value said.")),
                ("'leaf 3'", wrong("'leaf 3' is not \"A\", \"B\", \"both\" or \"neither\"."))],
    ("06", 2): [("solution", RIGHT), ("[s.replace(' ', '').upper() for s in reversed(solution)]", RIGHT),
                ("solution[:-1]", wrong("1 item is missing from the list.")),
                ("small.to_frame()['slice'].tolist()", wrong("should not be in the list.")),
                ("solution[0]", wrong("answer with a list of slice strings, not the text"))],
    ("07", 1): [("solution", RIGHT), ("' Done '", RIGHT),
                ("'mismatch'", wrong("the dev/test gap is over the tolerance mc.milestones applies to point estimates, "
                                     "but dev_vs_test's p-value says chance explains it")),
                ("knn.focus", wrong("dev_vs_test's p-value says chance explains it")),
                ("'variance'", wrong("training and dev accuracy are within a point of each other")),
                ("'bias'", wrong("no avoidable bias is left.")),
                ("'business'", wrong("'business' is not \"bias\", \"variance\", \"mismatch\" or \"done\"."))],
    ("07", 2): [("solution", RIGHT), ("[c.upper() for c in reversed(solution)]", RIGHT),
                ("['end', 'event', 'is_recid', 'r_charge_degree']",
                 wrong("2 items are missing from the list. A leak need not score high: ask what each column records, and when.")),
                ("solution + ['decile_score']", wrong("'decile_score' is known at the hearing: a strong predictor is not a leak.")),
                ("solution + ['race']", wrong("'race' is known at the hearing: whether a model may use it is a fairness question (lesson 5), not a leak.")),
                ("solution + ['days_b_screening_arrest']", wrong("'days_b_screening_arrest' is known at the hearing: it is no leak.")),
                ("'is_recid'", wrong("answer with a list of column names, not the text 'is_recid'."))],
    ("08", 1): [("solution", RIGHT), ("tuple(round(x, 2) for x in solution)", RIGHT), ("tuple(round(x, 1) for x in solution)", wrong("too rounded")),
                ("(round(100 * by_workclass.to_frame().set_index('slice').loc[\"workclass == 'Self-emp-inc'\", 'v1_change'], 2), round(solution[1], 2))",
                 wrong("22.28 is the gain inside Self-emp-inc; overall accuracy moves by that gain times the slice's share of the test set.")),
                ("(round(solution[0], 2), round(100 * by_workclass.to_frame()['v1_change'].iloc[0], 2))",
                 wrong("1.39 is v2's overall gain; the measurement is v3's (v3_path) against v1.")),
                ("(round(solution[0], 2), round(solution[0], 2))", wrong("0.79 is the prediction again: measure v3's overall accuracy against v1's.")),
                ("tuple(round(x / 100, 4) for x in solution)", wrong("0.0079, 0.0094: that looks like a fraction; give percentage points (7 for 0.07).")),
                ("solution[::-1]", wrong("the right values in the wrong order: answer with a pair (predicted, measured)."))],
    ("08", 2): [("solution", RIGHT),
                ("mc.Gates(min_slice={'recall': round(solution.to_dict()['min_slice']['recall'], 2)}, by=['workclass'], min_support=100, judge='point')", RIGHT),
                ("mc.Gates(min_slice={'recall': solution.to_dict()['min_slice']['recall'] - 0.05}, by=['workclass'], min_support=100, judge='point')",
                 wrong("v2 passes it, but it is not the highest two-decimal threshold that v2 passes.")),
                ("mc.Gates(min_slice={'recall': solution.to_dict()['min_slice']['recall'] + 0.25}, by=['workclass'], min_support=100, judge='point')",
                 wrong("v2 does not pass this gate.")),
                ("mc.Gates(min_slice={'recall': round(solution.to_dict()['min_slice']['recall'], 2)}, by=['workclass'], min_support=100)",
                 wrong('judge on the point estimate: judge="point".')),
                ("solution.to_dict()['min_slice']['recall']", wrong("answer with an mc.Gates object."))],
    ("09", 1): [("solution", RIGHT), ("' C '", RIGHT),
                ("'a'", wrong("better on average is not better for everyone: on the check half, which the search never saw, v2b gets 57.2%",
                              "a change of -19.6 points (-28.2 to -9.8)")),
                ("'b'", wrong("the search's p-value is already adjusted over the 1,713 slices it scored (0.031)", "confirms the slice on its own")),
                ("'d'", wrong("v2's slices are not regressions the data can tell from noise: -5.9 points (-11.3 to +0.0), adjusted p = 1")),
                ("'e'", wrong("'e' is not one of the letters \"a\", \"b\", \"c\" or \"d\".")), ("3", wrong("3 is not one of the letters"))],
    ("09", 2): [("solution", RIGHT), ("' Boosting 30 '", RIGHT),
                ("'boosting 100'", wrong("boosting 100 and boosting 30 cannot be told apart across seeds (0.03 points apart, p = 0.79)",
                                         "the rule picks the one with fewer trees")),
                ("'forest 30'", wrong("forest 30 is worse than the best configuration across seeds (-0.55 points, adjusted p = 0.017)")),
                ("'boosting 30 s0'", wrong("that is one run. Its place is partly its seed's luck: it ranks first in 37% of the bootstrap draws",
                                           "the other seeds of boosting 30 rank 4 and 5")),
                ("'gradient boosting'", wrong("'gradient boosting' is not a configuration of the leaderboard."))],
    ("09", 3): [("solution", RIGHT), ("round(solution * 1.05)", RIGHT),
                ("3", wrong("three seeds is what the lesson ran")),
                ("round(1.96 ** 2 * (lb.pooled['seed_sd'].iloc[0] ** 2 + lb.pooled['seed_sd'].iloc[1] ** 2) / lb.pooled['to_best'].iloc[1] ** 2)",
                 wrong("about half of what is needed", "Add 0.84")),
                ("round(2.8 ** 2 * (lb.pooled['sampling_half_width'].iloc[0] ** 2 + lb.pooled['sampling_half_width'].iloc[1] ** 2) "
                 "/ lb.pooled['to_best'].iloc[1] ** 2)", wrong("that uses the sampling ± of one run")),
                ("round(2.8 ** 2 * (lb.pooled['seed_sd'].iloc[0] ** 2 + lb.pooled['seed_sd'].iloc[1] ** 2) / 0.0003 ** 2)",
                 wrong("that uses the difference rounded to 0.0003")),
                ("str(solution)", wrong("answer with a number of seeds, not '300'."))],
    ("10", 1): [("solution", RIGHT), ("round(solution, 3)", RIGHT),
                ("round(100 * solution, 1)", wrong("80.2: " + PERCENTAGE)),
                ("e.overall['accuracy_estimate']", wrong("is the overall estimate, with this week's shares: the mix is still in it.")),
                ("round(by_channel['accuracy_estimate'].mean(), 3)", wrong("is the plain mean of the three channels' estimates")),
                ("round(e.overall['accuracy_reference'], 3)", wrong("is the accuracy measured on the test set"))],
    ("10", 2): [("solution", RIGHT), ("' Concept Drift '", RIGHT),
                ("'neither'", wrong("the labels that arrived depart from the estimate in region == 'north' (realised 0.700 against an estimated 0.811")),
                ("'covariate shift'", wrong("no slice's share, no feature and none of the model's outputs moved beyond noise")),
                ("'both'", wrong("there is no covariate shift. Only the labels changed.")),
                ("'drift'", wrong("'drift' is not \"covariate shift\", \"concept drift\", \"both\" or \"neither\"."))],
}


def with_answers(nb, lesson):
    """`nb` with, after each check cell, one cell per answer in ANSWERS that sets `answer` and reruns the check. The
    answer cells carry the tag `raises-exception`, so that a broken answer fails its own test, not the lesson's run."""
    cells, k = [], 0
    for cell in nb.cells:
        cells.append(cell)
        if "check" not in tags(cell): continue
        k += 1
        for i, (source, _) in enumerate(ANSWERS.get((lesson, k), [])):
            cells.append(nbformat.v4.new_code_cell(f"answer = {source}\n{cell.source}",
                                                   metadata={"tags": ["raises-exception"], "answer": [k, i]}))
        cells.append(nbformat.v4.new_code_cell("answer = None"))
    nb.cells = cells
    return nb


@cache
def executed(path):
    """The lesson with the answers of ANSWERS, run top to bottom once on a fresh kernel in a temporary folder (with
    course.py beside it, as in tutorials/), and how long that took. One thread per kernel: the CI machine's two cores
    are shared with the rest of the suite, and OpenMP's spinning threads slow scikit-learn's gradient boosting tenfold
    when the other core is busy."""
    from nbclient import NotebookClient
    folder = Path(tempfile.mkdtemp(prefix=f"lesson{path.name[:2]}-"))
    shutil.copy(TUTORIALS / "course.py", folder)
    nb = with_answers(nbformat.read(path, as_version=4), path.name[:2])
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("OMP_NUM_THREADS", "1")
            client.execute()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return nb, time.perf_counter() - start


def printed(cell):
    "What a cell printed, and its error if it raised one."
    return "".join(o.get("text", "") for o in cell.outputs) + "".join(
        f"{o['ename']}: {o['evalue']}" for o in cell.outputs if o.output_type == "error")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_executes(path, record_property):
    "Run the lesson top to bottom: no error, and every solution passes its own check."
    nb, seconds = executed(path)
    record_property("seconds", round(seconds, 1))
    checks = [c for c in nb.cells if "check" in tags(c)]
    assert all("No answer yet" in printed(c) for c in checks), [printed(c) for c in checks]


def test_every_check_has_its_answers():
    "Each check cell is tried with the solution, the solution as the tables show it, and at least two wrong answers."
    cells = {(p.name[:2], k) for p in LESSONS
             for k, _ in enumerate((c for c in nbformat.read(p, as_version=4).cells if "check" in tags(c)), 1)}
    assert cells == set(ANSWERS)
    for key, answers in ANSWERS.items():
        assert len(answers) >= 4 and answers[0] == ("solution", RIGHT) and answers[1][1][0].startswith("✓"), key
        assert sum(expected[0] == NOT_YET for _, expected in answers) >= 2, key


@pytest.mark.parametrize("key", sorted(ANSWERS), ids=lambda k: f"lesson{k[0]}-exercise{k[1]}")
def test_check_answers(key):
    "Each answer of ANSWERS, run through its lesson's check cell, prints the verdict and nudge expected."
    nb, _ = executed(next(p for p in LESSONS if p.name.startswith(key[0])))
    got = {c.metadata["answer"][1]: printed(c).strip() for c in nb.cells if c.metadata.get("answer", [None])[0] == key[1]}
    failures = [f"answer = {source}\n  printed:  {got.get(i)!r}\n  expected: {expected!r}"
                for i, (source, expected) in enumerate(ANSWERS[key])
                if not (got.get(i, "").startswith(expected[0]) and all(x in got[i] for x in expected[1:])
                        and (expected[0] == NOT_YET or got[i] == expected[0]))]
    assert not failures, "\n".join(failures)
