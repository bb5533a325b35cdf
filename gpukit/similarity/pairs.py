"""The similar pairs of a class: fingerprint every submission, index, compare the candidates.

A pair's score, for code and for written answers separately, is a share of one student's own
work (what is neither given by the release nor common ground of the class) that the other's
work matches: of the whole notebook's, or of one answer cell's, whichever is larger, on either
side. 1.0: everything one of them wrote (in one answer, at least) is in the other's notebook. A
share counts only when the matching passages are long enough to mean something
(:data:`MIN_MATCH`); a pair is listed when either score reaches the threshold. Scores are
computed for every pair that shares a fingerprint; every other pair scores 0 without being
compared.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gpukit.similarity import code, text
from gpukit.similarity.document import Comparison, Document, Span, compare
from gpukit.similarity.extract import Given, Work
from gpukit.similarity.index import FingerprintIndex, common_limit

KINDS = ("code", "written")
# The least a match must cover to count, whatever its share, in the students' own tokens (see
# document.py): filtered code characters (about four lines of code) and content words (a
# sentence or two). Below them a match scores 0. In the labs' sample classes, the own tokens
# unrelated notebooks share by chance reach 48 characters and 3 words; planted copies of a whole
# cell or notebook share 137 characters and 29 words at least.
MIN_MATCH = {"code": 4 * code.K, "written": 4 * text.N}


@dataclass(frozen=True)
class Settings:
    """The knobs of a run (from the Course: similarity_threshold, similarity_common_share)."""

    threshold: float
    common_share: float


@dataclass(frozen=True)
class Match:
    """What one kind of a pair's work shares."""

    score: float
    share_a: float                        # of a's whole notebook (0: too little matched)
    share_b: float
    cell_a: tuple[float, str]             # a's answer cell with the largest share, and it
    cell_b: tuple[float, str]
    overlap: int
    spans_a: list[Span]
    spans_b: list[Span]

    @property
    def cells(self) -> list[str]:
        """The cells involved, on either side, in order of first appearance."""
        return list(dict.fromkeys(span.cell for span in [*self.spans_a, *self.spans_b]))


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    scores: dict[str, float]              # kind -> score, listed or not
    matches: dict[str, Match]             # the kinds listed (score >= threshold)
    texts_a: dict[str, dict[str, str]]    # kind -> cell -> text, of the cells involved
    texts_b: dict[str, dict[str, str]]

    def score(self, kind: str) -> float:
        return self.scores.get(kind, 0.0)

    @property
    def top(self) -> float:
        return max(self.score(kind) for kind in KINDS)


@dataclass
class Findings:
    """Every listed pair of one assignment, and the scores of all the others."""

    assignment: str
    settings: Settings
    students: list[str]
    pairs: list[Pair]                          # listed, highest score first
    scores: dict[str, np.ndarray]              # kind -> the score of every pair of students
    common: dict[str, int]                     # kind -> fingerprints taken as common ground
    compared: dict[str, int]                   # kind -> pairs compared in detail
    common_limit: int
    seconds: float = 0.0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (student, why skipped)
    boilerplate_files: list[str] = field(default_factory=list)

    @property
    def total_pairs(self) -> int:
        n = len(self.students)
        return n * (n - 1) // 2

    def score(self, a: str, b: str, kind: str) -> float:
        """The score of any pair of the class, listed or not."""
        i, j = sorted((self.students.index(a), self.students.index(b)))
        return float(self.scores[kind][_position(len(self.students), i, j)])

    def unrelated(self, kind: str) -> np.ndarray:
        """The scores of the pairs not listed: the class's background."""
        listed = {(p.a, p.b) for p in self.pairs if kind in p.matches and
                  p.matches[kind].score >= self.settings.threshold}
        scores = self.scores[kind]
        return np.delete(scores, _listed_positions(self.students, listed)) if listed \
            else scores


def find_similar(assignment: str, works: Sequence[Work], given: Given, settings: Settings,
                 *, boilerplate: dict[str, np.ndarray] | None = None,
                 progress: Callable[[int], None] | None = None) -> Findings:
    """The pairs of ``works`` similar beyond ``settings.threshold``, code and written answers
    each on their own. ``progress`` is told of each submission fingerprinted."""
    started = time.perf_counter()
    works = sorted(works, key=lambda w: w.student)
    given_hashes = boilerplate or {"code": code.boilerplate(given.code),
                                   "written": text.boilerplate(given.text)}
    documents: dict[str, list[Document]] = {kind: [] for kind in KINDS}
    for work in works:
        documents["code"].append(code.code_document(work.code, given_hashes["code"]))
        documents["written"].append(text.text_document(work.written, given_hashes["written"]))
        if progress:
            progress(1)
    limit = common_limit(len(works), settings.common_share)
    n = len(works)
    scores = {kind: np.zeros(n * (n - 1) // 2) for kind in KINDS}
    common, compared = {}, {}
    found: dict[tuple[int, int], dict[str, Comparison]] = {}
    for kind in KINDS:
        index = FingerprintIndex()
        for number, document in enumerate(documents[kind]):
            index.add(number, document.hashes)
        ground = index.common(limit)
        common[kind] = len(ground)
        for document in documents[kind]:
            document.drop(ground & document.hashes)
        candidates = index.candidates(ground)
        compared[kind] = len(candidates)
        for i, j in candidates:
            comparison = compare(documents[kind][i], documents[kind][j], MIN_MATCH[kind])
            scores[kind][_position(n, i, j)] = comparison.score
            if comparison.score >= settings.threshold:
                found.setdefault((i, j), {})[kind] = comparison
    pairs = [_pair(works, documents, i, j, comparisons,
                   {kind: float(scores[kind][_position(n, i, j)]) for kind in KINDS})
             for (i, j), comparisons in found.items()]
    pairs.sort(key=lambda p: (-p.top, p.a, p.b))
    return Findings(assignment, settings, [w.student for w in works], pairs, scores, common,
                    compared, limit, time.perf_counter() - started,
                    boilerplate_files=list(given.extra))


def _pair(works: Sequence[Work], documents: dict[str, list[Document]], i: int, j: int,
          comparisons: dict[str, Comparison], scores: dict[str, float]) -> Pair:
    matches, texts_a, texts_b = {}, {}, {}
    for kind, c in comparisons.items():
        match = Match(c.score, c.share_a, c.share_b, c.cell_a, c.cell_b, c.overlap, c.spans_a,
                      c.spans_b)
        matches[kind] = match
        texts_a[kind] = {cell: documents[kind][i].part_text(cell) for cell in match.cells}
        texts_b[kind] = {cell: documents[kind][j].part_text(cell) for cell in match.cells}
    return Pair(works[i].student, works[j].student, scores, matches, texts_a, texts_b)


def _position(n: int, i: int, j: int) -> int:
    """Where the pair (i, j), i < j, stands among the n (n - 1) / 2 pairs."""
    return i * n - i * (i + 1) // 2 + (j - i - 1)


def _listed_positions(students: list[str], listed: set[tuple[str, str]]) -> list[int]:
    number = {student: i for i, student in enumerate(students)}
    return [_position(len(students), number[a], number[b]) for a, b in listed]
