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
