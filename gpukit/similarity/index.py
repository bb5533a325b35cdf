"""The inverted fingerprint index of a class: fingerprint -> the submissions holding it.

Two uses, neither of which compares every pair:

* **common ground**: a fingerprint held by many submissions (at least :func:`common_limit` of
  them) is the template, the code the instructions dictate or the tutorial everyone follows,
  not evidence of copying (MOSS's ``-m``: ignore passages found in more than m programs);
* **candidates**: only pairs of submissions that share at least one fingerprint that is not
  common ground can score above zero, so only they are compared in detail.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from itertools import combinations

# The fewest submissions a fingerprint needs to be common ground, in any class (common_limit).
COMMON_MIN_SUBMISSIONS = 5


def common_limit(submissions: int, share: float) -> int:
    """How many submissions must hold a fingerprint for it to be common ground: ``share`` of
    the class, and never fewer than COMMON_MIN_SUBMISSIONS (in a small class, a ring of four
    students sharing their code is still found)."""
    return max(COMMON_MIN_SUBMISSIONS, math.ceil(share * submissions))


class FingerprintIndex:
    """fingerprint -> the numbers of the documents holding it."""

    def __init__(self) -> None:
        self._holders: dict[int, list[int]] = {}

    def add(self, number: int, fingerprints: Iterable[int]) -> None:
        for fingerprint in fingerprints:
            self._holders.setdefault(fingerprint, []).append(number)

    def common(self, limit: int) -> set[int]:
        """The fingerprints held by ``limit`` documents or more."""
        return {fingerprint for fingerprint, holders in self._holders.items()
                if len(holders) >= limit}

    def candidates(self, common: set[int]) -> Counter[tuple[int, int]]:
        """Every pair of documents sharing fingerprints outside ``common``, with how many."""
        shared: Counter[tuple[int, int]] = Counter()
        for fingerprint, holders in self._holders.items():
            if len(holders) > 1 and fingerprint not in common:
                shared.update(combinations(sorted(holders), 2))
        return shared

    def __len__(self) -> int:
        return len(self._holders)
