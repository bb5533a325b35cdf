"""The similarity section of the class report, and the page of its own `gpukit similarity` writes.

Both show the same things: the listed pairs with their scores and the cells involved, the
distribution of the scores of every other pair (the class's background, against which a
listed pair stands out), the notebooks that could not be read, and for each pair a side-by-side
view of the cells involved with the matching passages marked. Everything a student wrote is
text in the page (the templates escape it; the page runs no script: gpukit/safe_html.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

from gpukit import __version__
from gpukit.reports.plots import similarity_histogram
from gpukit.similarity.document import Span
from gpukit.similarity.pairs import KINDS, Findings, Pair

PAGE_NAME = "similarity.html"
MAX_VIEWS = 100  # side-by-side views on a page; the table and the CSV list every pair


@dataclass(frozen=True)
class CellView:
    kind: str                          # code / written
    cell: str
    left: list[tuple[str, bool]]       # the text in segments, marked where it matches
    right: list[tuple[str, bool]]


@dataclass(frozen=True)
class PairView:
    number: int
    a: str
    b: str
    scores: dict[str, float]           # kind -> score (0 when nothing matched)
    listed_for: list[str]              # the kinds at or above the threshold
    cells: list[str]
    views: list[CellView]


@dataclass(frozen=True)
class Distribution:
    """The scores of the pairs not listed, for one kind of work."""

    kind: str
    pairs: int
    zero: int
    median: float
    p95: float
    p99: float
    maximum: float


@dataclass(frozen=True)
class SectionView:
    findings: Findings | None
    error: str                         # why there is nothing to show
    pairs: list[PairView]
    distributions: list[Distribution]
    figure: str | None


def section(findings: Findings | None, error: str = "") -> SectionView:
    """What the section shows of ``findings`` (None: not computed, ``error`` says why)."""
    if findings is None:
        return SectionView(None, error, [], [], None)
    threshold = findings.settings.threshold
    pairs = [_pair_view(number, pair, threshold, views=number <= MAX_VIEWS)
             for number, pair in enumerate(findings.pairs, start=1)]
    backgrounds = {kind: findings.unrelated(kind) for kind in KINDS}
    distributions = [_distribution(kind, scores) for kind, scores in backgrounds.items()]
    figure = similarity_histogram(backgrounds, threshold) if findings.total_pairs else None
    return SectionView(findings, error, pairs, distributions, figure)


def _pair_view(number: int, pair: Pair, threshold: float, views: bool) -> PairView:
    listed_for = [kind for kind in KINDS if pair.score(kind) >= threshold]
    cells, shown = [], []
    for kind in listed_for:
        match = pair.matches[kind]
        cells += match.cells
        for cell in match.cells if views else []:
            shown.append(CellView(kind, cell, segments(pair.texts_a[kind][cell], match.spans_a,
                                                       cell),
                                  segments(pair.texts_b[kind][cell], match.spans_b, cell)))
    return PairView(number, pair.a, pair.b, {kind: pair.score(kind) for kind in KINDS},
                    listed_for, list(dict.fromkeys(cells)), shown)


def segments(text: str, spans: list[Span], cell: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, marked) at the spans of ``cell``."""
    marks = sorted((s.start, s.end) for s in spans if s.cell == cell)
    merged: list[list[int]] = []
    for start, end in marks:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, cursor = [], 0
    for start, end in merged:
        if start > cursor:
            pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    if cursor < len(text):
        pieces.append((text[cursor:], False))
    return pieces


def _distribution(kind: str, scores: np.ndarray) -> Distribution:
    if len(scores) == 0:
        return Distribution(kind, 0, 0, 0.0, 0.0, 0.0, 0.0)
    p50, p95, p99 = np.percentile(scores, [50, 95, 99])
    return Distribution(kind, len(scores), int(np.sum(scores == 0)), float(p50), float(p95),
                        float(p99), float(scores.max()))


def render_page(findings: Findings, course_id: str) -> str:
    """The page of its own: the section, under the report's head (styles, the policy)."""
    from gpukit.reports.page import templates

    return templates().get_template("similarity.html.j2").render(
        similarity=section(findings), course_id=course_id, in_report=False,
        generated=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        version=__version__)
