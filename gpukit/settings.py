"""Typed settings fields: :func:`setting` carries each field's help text and validation rule.

Every settings class (the course in :mod:`gpukit.config`, each lab in ``gpukit/labs/<lab>/``)
declares its fields with :func:`setting`; :func:`gpukit.config.validate` checks them and
``gpukit config --explain`` prints their help.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import field
from typing import Any

# A rule returns None when the value is fine, else a phrase saying what is allowed.
Rule = Callable[[Any], "str | None"]


def setting(default: Any = dataclasses.MISSING, *, help: str, rule: Rule | None = None,
            default_factory: Any = dataclasses.MISSING, **metadata: Any) -> Any:
    """A dataclass field that carries its help text and validation rule."""
    metadata = {"help": help, "rule": rule, **metadata}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def positive(value: Any) -> str | None:
    return None if value > 0 else "a number greater than 0"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "a number of 0 or more"


def fraction(value: Any) -> str | None:
    return None if 0 < value <= 1 else "a fraction with 0 < value <= 1 (0.97 means 97 %)"


def one_of(*allowed: str) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value in allowed else "one of " + ", ".join(repr(a) for a in allowed)
    return rule


def identifier(value: Any) -> str | None:
    # nbgrader uses ids as directory names and database keys: keep them path- and URL-safe.
    ok = re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", value)
    return None if ok else "letters, digits, '_' or '-', starting with a letter (at most 64)"
