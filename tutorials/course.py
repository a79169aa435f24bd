"""The course's exercise checker.

Every exercise in the lessons has three cells:

1. the exercise (tag `exercise`): `answer = None  # your code here`; replace `None` with your answer;
2. the solution (tag `solution`), collapsed: it sets `solution` and never touches `answer`;
3. the check (tag `check`): `check(answer, solution, test)` prints whether your answer is right.

With no answer yet (`answer` is None) the check runs the test on the solution instead and raises if the solution
fails: a notebook executed from top to bottom, as CI does, proves that every solution still passes its check.

A test returns a truth value, or raises AssertionError with a nudge that says what is wrong. The helpers below do
that for the usual kinds of answer:

- `close(answer, expected)` for a number or a tuple of numbers: a value copied from a table with fewer decimals is
  right when it is the expected value rounded to those decimals; a percentage where a fraction is asked, a flipped
  sign, a swapped pair, text or a wrong count get their own nudge;
- `one_of(answer, options)` for a name, and `same_texts(answer, expected)` for a list of names, forgiving case,
  spaces and quote marks.
"""
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from numbers import Integral, Real

__all__ = ["check", "close", "one_of", "same_texts", "ROUGHLY"]

RIGHT = "✓ Right."
RIGHT_ROUGHLY = "✓ Right — give more decimals next time."
NOT_YET = "✗ Not yet."
NO_ANSWER = "No answer yet: set `answer` in the exercise cell above and run this cell again."

TEXT_FOR_NUMBER = "{shown} is text: answer with {what}, without the quotes."
WRONG_KIND = "answer with {what}, not {kind}."
WRONG_COUNT = "answer with {what}: this has {got} values, not {want}."
PERCENTAGE = "{shown}: that looks like a percentage; give a fraction{range} (0.07 for 7%)."
FRACTION = "{shown}: that looks like a fraction; give percentage points (7 for 0.07)."
SIGN = "{shown}: the right size but the wrong sign."
SWAPPED = "the right values in the wrong order: answer with {what}."
PART_WRONG = "the {wrong} not right; the {right} right."
TOO_ROUGH = "{shown}: too rounded to check; give at least two significant digits."
NOT_AN_OPTION = "{shown} is not {what}."
TEXTS_EXTRA = "{shown} should not be in the list."
TEXTS_MISSING = "{n} missing from the list."
TEXTS_ORDER = "the right items, but not in the order asked: sort them."

ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]


class Roughly:
    "What `close` returns for an answer right only to fewer decimals than the lesson shows: a pass, with a remark."
    def __bool__(self): return True
    def __repr__(self): return "ROUGHLY"


ROUGHLY = Roughly()


def _verdict(test, value):
    "(result, why): what `test` returned (False when it raised), and the AssertionError's reason if it raised one."
    try:
        ok = test(value)
    except AssertionError as e:
        return False, str(e)
    except Exception as e:  # a wrong kind of answer (a string where a number is expected, say)
        return False, f"checking it raised {type(e).__name__}: {e}"
    return ok, ""


def check(answer, solution, test, *, hint: str = "") -> None:
    "Print whether `answer` passes `test`; with no answer yet, make sure the reference `solution` does."
    if answer is None:
        ok, why = _verdict(test, solution)
        if not ok:
            raise AssertionError(f"The reference solution fails its own check ({why or 'test returned False'}): "
                                 "the lesson needs fixing.")
        print(NO_ANSWER)
        return
    ok, why = _verdict(test, answer)
    if ok:
        print(RIGHT_ROUGHLY if ok is ROUGHLY else RIGHT)
    else:
        print(" ".join(x for x in (NOT_YET, why, hint) if x))


def _show(x) -> str:
    "A number as the learner would have typed it (23.7, not np.float64(23.7)); anything else as its repr."
    if isinstance(x, Integral) and not isinstance(x, bool): return str(int(x))
    if isinstance(x, Real) and not isinstance(x, bool): return repr(float(x))
    return repr(x)


def _decimals(x) -> int:
    "How many decimals `x` is written with: 0.52 → 2, 3.0 → 1, 7 → 0, 1e-05 → 5."
    if isinstance(x, Integral): return 0
    return max(0, -Decimal(repr(float(x))).as_tuple().exponent)


def _significant(k: float, expected) -> float:
    "How many significant digits of `expected` an answer right to `k` decimals carries."
    return k if expected == 0 or k == math.inf else k + math.floor(math.log10(abs(expected))) + 1


def _right_to(answer, expected) -> float | None:
    """The most decimals to which `answer` is `expected` rounded (inf when equal, up to float noise); None when it is
    not right even to the decimals it is written with, or keeps no significant digit of `expected` (0 for 0.28)."""
    gap, eps = abs(answer - expected), 1e-9 * max(1.0, abs(expected))
    if gap <= eps: return math.inf
    k = _decimals(answer)
    if gap > 0.5 * 10 ** -k + eps: return None
    while gap <= 0.5 * 10 ** -(k + 1) + eps: k += 1
    return k if _significant(k, expected) >= 1 else None


def _kind(x) -> str:
    "A short description of a wrong kind of answer, for a message: 'True', 'a list of 2 values', 'a dict'."
    if isinstance(x, bool): return repr(x)
    try:
        n = len(x) if isinstance(x, Iterable) and not isinstance(x, (str, Mapping)) else None
    except TypeError:  # a 0-d array
        n = None
    if n is None: return f"a {type(x).__name__}"
    return f"a {type(x).__name__} of {n} value{'s' * (n != 1)}"


def _numbers(answer, n: int | None, what: str) -> list:
    "The numbers in `answer` (one, or `n` of them), or AssertionError saying what kind of answer is expected."
    if isinstance(answer, str):
        try:
            float(answer)
        except ValueError:
            raise AssertionError(WRONG_KIND.format(what=what, kind=f"the text {answer!r}")) from None
        raise AssertionError(TEXT_FOR_NUMBER.format(shown=repr(answer), what=what))
    if getattr(answer, "ndim", None) == 0: answer = answer.item()  # a 0-d array
    if n is None:
        values = [answer]
    elif isinstance(answer, Iterable) and not isinstance(answer, Mapping):
        values = list(answer)
        if len(values) != n: raise AssertionError(WRONG_COUNT.format(what=what, got=len(values), want=n))
    else:
        raise AssertionError(WRONG_KIND.format(what=what, kind="a single number" if isinstance(answer, Real) else _kind(answer)))
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            shown = _show(v) if isinstance(v, Real) and not isinstance(v, bool) else _kind(v)
            if n is not None: shown += " among the values"
            raise AssertionError(WRONG_KIND.format(what=what, kind=shown))
    return values


def _which(places: list[int]) -> str:
    "[1] → 'second value is', [0, 2] → 'first and third values are'."
    names = [ORDINALS[i] if i < len(ORDINALS) else f"#{i + 1}" for i in places]
    return f"{names[0]} value is" if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]} values are"


def close(answer,              # the learner's number, or tuple of numbers
          expected,            # the right value, or values, unrounded
          *,
          what: str = "",      # the answer as messages name it: "a pair (low, high)"
          unit: str = "",      # "fraction" nudges an answer that looks like a percentage, "points" one like a fraction
          decimals: int = 3):  # an answer right to fewer decimals than this passes with "give more decimals next time"
    """True when `answer` is `expected` rounded to the decimals it is written with; `ROUGHLY` when that is fewer than
    `decimals`; else False (the check adds the lesson's hint), or AssertionError with a nudge."""
    many = isinstance(expected, Iterable) and not isinstance(expected, (str, Mapping))
    expected = [float(e) for e in expected] if many else [float(expected)]
    what = what or (f"{len(expected)} numbers" if many else "a number")
    values = _numbers(answer, len(expected) if many else None, what)

    right = [_right_to(v, e) for v, e in zip(values, expected)]
    if all(k is not None for k in right):
        rough = [v for v, k, e in zip(values, right, expected) if _significant(k, e) < 2]
        if rough: raise AssertionError(TOO_ROUGH.format(shown=", ".join(map(_show, rough))))
        return True if all(k >= decimals for k in right) else ROUGHLY

    if len(values) > 1 and all(_right_to(v, e) is not None for v, e in zip(values[::-1], expected)):
        raise AssertionError(SWAPPED.format(what=what))
    for kind, scaled in (("percentage", [100 * e for e in expected]), ("fraction", [e / 100 for e in expected]),
                         ("sign", [-e for e in expected])):
        if kind == "percentage" and unit != "fraction" or kind == "fraction" and unit != "points": continue
        hit = [_right_to(v, s) is not None and e != 0 for v, s, e in zip(values, scaled, expected)]
        if any(hit) and all(h or k is not None for h, k in zip(hit, right)):
            odd = ", ".join(_show(v) for v, h in zip(values, hit) if h)
            if kind == "percentage":
                within = all(0 <= e <= 1 for e in expected)
                raise AssertionError(PERCENTAGE.format(shown=odd, range=" between 0 and 1" if within else ""))
            raise AssertionError((FRACTION if kind == "fraction" else SIGN).format(shown=odd))
    if any(k is not None for k in right):
        raise AssertionError(PART_WRONG.format(wrong=_which([i for i, k in enumerate(right) if k is None]),
                                               right=_which([i for i, k in enumerate(right) if k is not None])))
    return False


def _key(text: str) -> str:
    "What two spellings of one name share: no spaces or backticks, lower case, one kind of quote mark."
    return re.sub(r"[\s`]+", "", text).casefold().replace('"', "'")


def one_of(answer, options, *, what: str) -> str:
    """The option that `answer` names, forgiving case, spaces and quote marks (`"Car Noise "` names 'car noise');
    else AssertionError '<answer> is not <what>.'."""
    if isinstance(answer, str):
        found = [o for o in options if _key(str(o)) == _key(answer)]
        if found: return found[0]
    raise AssertionError(NOT_AN_OPTION.format(shown=repr(answer), what=what))


def same_texts(answer, expected, *, what: str = "a list of names", ordered: bool = False) -> bool:
    """True when the list `answer` holds the names in `expected` (in the same order if `ordered`), forgiving case,
    spaces and quote marks; else AssertionError saying which names should not be there, or how many are missing."""
    if isinstance(answer, str) or not isinstance(answer, Iterable) or isinstance(answer, Mapping):
        raise AssertionError(WRONG_KIND.format(what=what, kind=f"the text {answer!r}" if isinstance(answer, str) else _kind(answer)))
    given = list(answer)
    odd = [x for x in given if not isinstance(x, str)]
    if odd: raise AssertionError(WRONG_KIND.format(what=what, kind=f"{odd[0]!r} among the names"))
    want = [_key(e) for e in expected]
    extra = [x for x in given if _key(x) not in want]
    if extra: raise AssertionError(TEXTS_EXTRA.format(shown=", ".join(map(repr, extra))))
    missing = len(set(want) - {_key(x) for x in given})
    if missing: raise AssertionError(TEXTS_MISSING.format(n=f"{missing} item is" if missing == 1 else f"{missing} items are"))
    if ordered and [_key(x) for x in given] != want: raise AssertionError(TEXTS_ORDER)
    return True
