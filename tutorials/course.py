"""The course's exercise checker.

Every exercise in the lessons has three cells:

1. the exercise (tag `exercise`): `answer = None  # your code here`; replace `None` with your answer;
2. the solution (tag `solution`), collapsed: it sets `solution` and never touches `answer`;
3. the check (tag `check`): `check(answer, solution, test)` prints whether your answer is right.

With no answer yet (`answer` is None) the check runs the test on the solution instead and raises if the solution
fails: a notebook executed from top to bottom, as CI does, proves that every solution still passes its check.
"""

__all__ = ["check"]


def _verdict(test, value):
    "(passed, why): `test` returns a truth value or raises AssertionError with the reason."
    try:
        ok = test(value)
    except AssertionError as e:
        return False, str(e)
    except Exception as e:  # a wrong kind of answer (a string where a number is expected, say)
        return False, f"checking it raised {type(e).__name__}: {e}"
    return bool(ok), ""


def check(answer, solution, test, *, hint: str = "") -> None:
    "Print whether `answer` passes `test`; with no answer yet, make sure the reference `solution` does."
    if answer is None:
        ok, why = _verdict(test, solution)
        if not ok:
            raise AssertionError(f"The reference solution fails its own check ({why or 'test returned False'}): "
                                 "the lesson needs fixing.")
        print("No answer yet: set `answer` in the exercise cell above and run this cell again.")
        return
    ok, why = _verdict(test, answer)
    if ok:
        print("✓ Right.")
    else:
        print("✗ Not yet. " + " ".join(x for x in (why, hint) if x))
