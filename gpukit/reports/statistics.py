"""The numbers of a class report: per check, who got it, how it separates, why it was lost.

Discrimination is the item-rest correlation used for exam items (and by PrairieLearn): the
Pearson correlation between a check's points and the rest of the score. Near 0, a check says
nothing about who did the lab well; negative, it rewards the wrong students (worth a look).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass

from gpukit.reports.classbook import ClassResults, GradedItem

# Check outcomes that lost the student points, by the grader's verdict (an integrity hold is
# the instructor's to decide: the report lists it under what needs them).
LOST = ("failed", "error", "needs_gpu", "not_run")


@dataclass(frozen=True)
class ItemStatistics:
    item: GradedItem
    scored: int                 # submissions with a score for it
    full: int                   # of those, with all its points
    mean_points: float | None
    discrimination: float | None
    failures: list[tuple[str, int]]   # most common messages of lost checks, with counts

    @property
    def pass_rate(self) -> float | None:
        return self.full / self.scored if self.scored else None


@dataclass(frozen=True)
class ClassSummary:
    submissions: int
    by_status: dict[str, int]
    median: float | None
    spread: float | None        # interquartile range of the totals
    mean: float | None


def summarize(results: ClassResults) -> ClassSummary:
    totals = [student.total for student in results.scored()]
    by_status = Counter(student.status for student in results.students)
    median = statistics.median(totals) if totals else None
    spread = None
    if len(totals) >= 2:
        low, _, high = statistics.quantiles(totals, n=4, method="inclusive")
        spread = high - low
    return ClassSummary(len(results.students), dict(by_status.most_common()), median, spread,
                        statistics.fmean(totals) if totals else None)


def item_statistics(results: ClassResults, top_messages: int = 3) -> list[ItemStatistics]:
    """Every graded item's numbers: the checks hardest first (lowest share of full points),
    then the written answers, likewise."""
    scored = results.scored()
    found = []
    for item in results.items:
        # Scores still waiting for the instructor (a written answer, an integrity hold) are
        # not final: neither their points nor their messages count yet.
        final = [s for s in scored
                 if item.name in s.scores and not s.scores[item.name].needs_manual]
        own = [s.scores[item.name].points for s in final]
        rest = [s.total - points for s, points in zip(final, own, strict=True)]
        messages = Counter(check.message for s in final if s.record is not None
                           for check in s.record.checks
                           if check.check == item.name and check.status in LOST)
        found.append(ItemStatistics(
            item, len(own), sum(1 for p in own if p >= item.max_points),
            statistics.fmean(own) if own else None, correlation(own, rest),
            messages.most_common(top_messages)))
    return sorted(found, key=lambda s: (s.item.written,
                                        s.pass_rate if s.pass_rate is not None else 2.0))


def correlation(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None where it is undefined (fewer than 3 pairs, or no variation)."""
    if len(xs) < 3:
        return None
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)
