"""Values a check takes from the notebook, made plain before they are compared.

A notebook can return an object whose ``__eq__`` is always true, or a ``float`` subclass whose
``__sub__`` returns 0: comparing such a value with the grader's truth proves nothing. Checks
therefore compare *plain copies*: the built-in type's own method extracts the value
(``str.__str__``, ``float.__float__``, ...), so no method the notebook defined is ever called.
Subclasses of the built-ins are fine that way (``torch.__version__`` is a ``str`` subclass).
"""

from __future__ import annotations

import math
from typing import Any

from gpukit.grading.basics import fail

_NOT_PLAIN = object()


def plain(value: Any) -> Any:
    """An exact bool, int, float, str or None holding ``value``'s data; a sentinel otherwise."""
    if value is None or type(value) is bool:  # bool cannot be subclassed
        return value
    for base, extract in ((int, int.__int__), (float, float.__float__), (str, str.__str__)):
        if isinstance(value, base):
            return extract(value)
    return _NOT_PLAIN


def plain_number(value: Any) -> float | None:
    """A finite int or float (bool excluded) as a float, else None."""
    number = plain(value)
    if type(number) not in (int, float):
        return None
    number = float(number)
    return number if math.isfinite(number) else None


def same_plain_value(reported: Any, truth: Any) -> bool:
    """``reported == truth`` compared as plain values of the same type; False otherwise."""
    reported, truth = plain(reported), plain(truth)
    return reported is not _NOT_PLAIN and type(reported) is type(truth) and truth == reported


def check_keys(report: Any, keys: Any, what: str) -> dict:
    """``report`` (returned by the function ``what``, "f()", or the variable ``what``) is a dict
    with exactly ``keys`` (else the check fails)."""
    if type(report) is not dict or set(report) != set(keys):
        verb = "return" if what.endswith("()") else "be"  # a function's result, or a variable
        fail(f"{what} must {verb} a dict with exactly the keys listed.")
    return report


def differing_keys(report: dict, truth: dict) -> list[str]:
    """The keys (never the values) on which ``report`` differs from ``truth``, compared as plain
    values; a list is compared item by item."""
    def same(reported: Any, true: Any) -> bool:
        if type(true) is list:
            return type(reported) is list and len(reported) == len(true) and all(
                same_plain_value(r, t) for r, t in zip(reported, true, strict=True))
        return same_plain_value(reported, true)

    return [key for key in truth if not same(report[key], truth[key])]


def check_report(function: str, report: Any, truth: dict, source: str) -> None:
    """``function``'s dict report holds the truth; failing, name the keys it gets wrong."""
    wrong = differing_keys(check_keys(report, truth, function), truth)
    if wrong:
        fail(f"{function} reports {', '.join(wrong)} differently from {source}.")
