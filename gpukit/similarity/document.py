"""A fingerprinted document (one student's code, or one student's written answers) and how two of
them compare: copydetect's ``compare_files`` on the fingerprints that are evidence.

The attribute names ``k``, ``hashes``, ``hash_idx``, ``filtered_code``, ``offsets`` and
``token_coverage`` are copydetect's own (``CodeFingerprint``), so that its comparison runs on
them unchanged. Fingerprints are hashed with BLAKE2b (:func:`stable_hashes`), not with Python's
``hash`` as copydetect does: that one is salted per process, so winnowing would keep other
fingerprints in every run and a pair near the threshold would come and go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from copydetect import compare_files
from copydetect.utils import get_token_coverage, winnow


@dataclass(frozen=True)
class Span:
    """A matching passage: characters ``start:end`` of the part of cell ``cell``."""

    cell: str
    start: int
    end: int


@dataclass
class Document:
    """A student's parts, joined, with the fingerprints that count as evidence."""

    k: int                              # fingerprint length (filtered characters, or words)
    raw: str                            # the parts as written, joined
    filtered_code: str | list[str]      # what was fingerprinted: tokens normalised
    offsets: np.ndarray                 # copydetect's map from filtered to raw positions
    hash_idx: dict[int, list[int]]      # fingerprint -> where it starts in filtered_code
    parts: list[tuple[int, int, str]]   # (start, end, cell) of each part in raw
    # For text: each word's (start, end) in raw, so word positions map back to characters.
    word_spans: list[tuple[int, int]] | None = None
    hashes: set[int] = field(init=False)
    token_coverage: float = field(init=False)

    def __post_init__(self) -> None:
        self._update()

    def _update(self) -> None:
        self.hashes = set(self.hash_idx)
        self.token_coverage = float(get_token_coverage(self.hash_idx, self.k,
                                                       len(self.filtered_code)))

    def drop(self, fingerprints: Iterable[int]) -> None:
        """Forget these fingerprints (the class's common ground): they are no evidence."""
        for fingerprint in fingerprints:
            self.hash_idx.pop(fingerprint, None)
        self._update()

    def spans(self, slices: np.ndarray) -> list[Span]:
        """Raw slices (copydetect's 2 x N starts and ends) as passages of the parts."""
        found = []
        for start, end in zip(*(np.asarray(s, dtype=int) for s in slices), strict=True):
            if self.word_spans is not None:  # word positions -> characters
                start, end = self.word_spans[start][0], self.word_spans[end - 1][1]
            for part_start, part_end, cell in self.parts:
                low, high = max(start, part_start), min(end, part_end)
                if low < high:
                    found.append(Span(cell, low - part_start, high - part_start))
        return found

    def part_text(self, cell: str) -> str:
        for start, end, name in self.parts:
            if name == cell:
                return self.raw[start:end]
        return ""


@dataclass(frozen=True)
class Comparison:
    """How much of each side's evidence the other side shares."""

    overlap: int                  # matched tokens (filtered characters, or words) of side a
    share_a: float                # matched share of a's countable tokens
    share_b: float
    spans_a: list[Span]
    spans_b: list[Span]

    @property
    def score(self) -> float:
        """The larger share: a student who copied and then added their own code is as much a
        copy as the student copied from."""
        return max(self.share_a, self.share_b)


def compare(a: Document, b: Document) -> Comparison:
    """copydetect's comparison of two documents' fingerprints."""
    if not a.hashes or not b.hashes or a.hashes.isdisjoint(b.hashes):
        return Comparison(0, 0.0, 0.0, [], [])
    overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(a, b)
    if not overlap:
        return Comparison(0, 0.0, 0.0, [], [])
    return Comparison(int(overlap), min(1.0, float(share_a)), min(1.0, float(share_b)),
                      a.spans(slices_a), b.spans(slices_b))


def stable_hashes(grams: Sequence[str]) -> np.ndarray:
    """A 64-bit hash of each k-gram, the same in every run."""
    return np.array([int.from_bytes(hashlib.blake2b(gram.encode("utf-8", "surrogatepass"),
                                                    digest_size=8).digest(), "little",
                                    signed=True) for gram in grams], dtype=np.int64)


def winnowed(hashes: np.ndarray, window: int, given: np.ndarray) -> dict[int, list[int]]:
    """copydetect's winnowing of a text's k-gram hashes, the given ones removed: fingerprint
    -> the positions where it starts. (copydetect 0.5.0's own get_document_fingerprints removes
    boilerplate with np.intersect1d(assume_unique=True) on hashes that repeat, which also drops
    fingerprints that merely occur twice and keeps second occurrences of boilerplate ones.)"""
    if len(hashes) == 0:
        return {}
    selected, where = winnow(hashes, window_size=window, remove_duplicates=False)
    keep = ~np.isin(selected, given)
    positions: dict[int, list[int]] = {}
    for value, index in zip(selected[keep].tolist(), where[keep].tolist(), strict=True):
        positions.setdefault(value, []).append(index)
    return positions


@dataclass(frozen=True)
class Piece:
    """One part, tokenized: ``tokens`` are what is fingerprinted (a filtered string, or a list
    of words); ``where`` maps them back to ``text`` (copydetect's offsets for a filtered string,
    each word's span for words)."""

    cell: str
    text: str
    tokens: str | list[str]
    where: np.ndarray | list[tuple[int, int]]
    hashes: np.ndarray                   # the hash of the k-gram starting at each token


SEPARATOR = "\n\n"


def assemble(pieces: list[Piece], k: int, window: int, given: np.ndarray, *,
             words: bool) -> Document:
    """The pieces as one document. Each piece is winnowed on its own, so that no fingerprint
    spans two cells (the end of one answer and the start of the next are not a passage)."""
    raw, parts, positions = "", [], {}
    tokens: str | list[str] = [] if words else ""
    offsets, spans = [], []
    for piece in pieces:
        if raw:
            raw += SEPARATOR
        begin, first = len(raw), len(tokens)
        parts.append((begin, begin + len(piece.text), piece.cell))
        raw += piece.text
        tokens += piece.tokens
        if words:
            spans += [(begin + a, begin + b) for a, b in piece.where]
        else:  # copydetect's offsets: filtered position -> characters removed before it
            offsets += [(first + f, begin - first + removed) for f, removed in piece.where]
        for fingerprint, starts in winnowed(piece.hashes, window, given).items():
            positions.setdefault(fingerprint, []).extend(first + s for s in starts)
    return Document(k, raw, tokens, np.array(offsets, dtype=np.int64).reshape(-1, 2)
                    if offsets else np.array([]), positions, parts,
                    word_spans=spans if words else None)
