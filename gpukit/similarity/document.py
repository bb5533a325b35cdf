"""A fingerprinted document (one student's code, or one student's written answers) and how two of
them compare, with copydetect's own functions (winnowing, overlap, copied slices).

What counts is a student's **own** work: the tokens (filtered code characters, or words) that no
given k-gram (the release, the instructions, the course's tutorials) and no common-ground
fingerprint of the class covers. A k-gram that straddles a given line and a common one (the
junction where a student pasted a tutorial's function between two lines of the template) holds
no token of the student's own, so it is no evidence however rare it is. A document's coverage is
its own tokens under its fingerprints; a match is the own tokens under the fingerprints two
documents share.

The attribute names ``k``, ``hashes``, ``hash_idx``, ``filtered_code`` and ``offsets`` are
copydetect's (``CodeFingerprint``). Fingerprints are hashed with BLAKE2b (:func:`stable_hashes`),
not with Python's ``hash`` as copydetect does: that one is salted per process, so winnowing would
keep other fingerprints in every run and a pair near the threshold would come and go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from copydetect.utils import find_fingerprint_overlap, get_copied_slices, winnow


@dataclass(frozen=True)
class Span:
    """A matching passage: characters ``start:end`` of the part of cell ``cell``."""

    cell: str
    start: int
    end: int


def _covered(starts: Iterable[int], k: int, length: int) -> np.ndarray:
    """A mask of the tokens that k-grams starting at ``starts`` cover."""
    mask = np.zeros(length, dtype=bool)
    for start in starts:
        mask[start:start + k] = True
    return mask


@dataclass
class Document:
    """A student's parts, joined, with the fingerprints that count as evidence."""

    k: int                              # fingerprint length (filtered characters, or words)
    raw: str                            # the parts as written, joined
    filtered_code: str | list[str]      # what was fingerprinted: tokens normalised
    offsets: np.ndarray                 # copydetect's map from filtered to raw positions
    hash_idx: dict[int, list[int]]      # fingerprint -> where it starts in filtered_code
    parts: list[tuple[int, int, str]]   # (start, end, cell) of each part in raw
    token_parts: list[tuple[int, int, str]]  # (start, end, cell) of each part in filtered_code
    given: np.ndarray                   # mask: tokens a given k-gram covers
    # For text: each word's (start, end) in raw, so word positions map back to characters.
    word_spans: list[tuple[int, int]] | None = None
    hashes: set[int] = field(init=False)
    own: np.ndarray = field(init=False)          # mask: the student's own tokens
    counted: np.ndarray = field(init=False)      # mask: own tokens under the fingerprints
    token_coverage: int = field(init=False)      # how many

    def __post_init__(self) -> None:
        self.own = ~self.given
        self._update()

    def _update(self) -> None:
        self.hashes = set(self.hash_idx)
        starts = [s for positions in self.hash_idx.values() for s in positions]
        self.counted = _covered(starts, self.k, len(self.own)) & self.own
        self.token_coverage = int(np.sum(self.counted))

    def drop(self, fingerprints: Iterable[int]) -> None:
        """Forget these fingerprints (the class's common ground): they are no evidence, and the
        tokens they cover are nobody's own."""
        for fingerprint in fingerprints:
            starts = self.hash_idx.pop(fingerprint, None)
            if starts:
                self.own &= ~_covered(starts, self.k, len(self.own))
        self._update()

    def matched(self, slices: np.ndarray) -> np.ndarray:
        """A mask of the counted tokens inside copydetect's slices (2 x N, filtered)."""
        mask = np.zeros(len(self.own), dtype=bool)
        for start, end in zip(*slices, strict=True):
            mask[int(start):int(end)] = True
        return mask & self.counted

    def best_cell(self, matched: np.ndarray, least: int) -> tuple[float, str]:
        """The answer cell with the largest matched share of its counted tokens, among those
        with ``least`` matched tokens at least: (share, cell), or (0, "")."""
        best = (0.0, "")
        for start, end, cell in self.token_parts:
            hits, counted = int(np.sum(matched[start:end])), int(np.sum(self.counted[start:end]))
            if hits >= least and counted and hits / counted > best[0]:
                best = (min(1.0, hits / counted), cell)
        return best

    def spans(self, slices: np.ndarray) -> list[Span]:
        """Filtered slices as passages of the parts, in the characters the student wrote."""
        found = []
        for start, end in zip(*self._raw(slices), strict=True):
            for part_start, part_end, cell in self.parts:
                low, high = max(start, part_start), min(end, part_end)
                if low < high:
                    found.append(Span(cell, low - part_start, high - part_start))
        return found

    def _raw(self, slices: np.ndarray) -> tuple[list[int], list[int]]:
        starts, ends = (np.asarray(s, dtype=np.int64) for s in slices)
        if self.word_spans is not None:  # word positions -> characters
            return ([self.word_spans[s][0] for s in starts],
                    [self.word_spans[e - 1][1] for e in ends])
        if len(self.offsets):  # copydetect's mapping, as compare_files does it
            where = self.offsets[:, 0]
            starts = starts + self.offsets[:, 1][np.clip(np.searchsorted(where, starts), 0,
                                                         len(where) - 1)]
            ends = ends + self.offsets[:, 1][np.clip(np.searchsorted(where, ends), 0,
                                                     len(where) - 1)]
        return starts.tolist(), ends.tolist()

    def part_text(self, cell: str) -> str:
        for start, end, name in self.parts:
            if name == cell:
                return self.raw[start:end]
        return ""


@dataclass(frozen=True)
class Comparison:
    """How much of each side's own work the other side shares: in the whole notebook, and in
    the one answer cell most of which is shared."""

    overlap: int                  # own tokens matched, the smaller of the two sides
    share_a: float                # matched share of a's counted tokens (0: too few matched)
    share_b: float
    cell_a: tuple[float, str]     # a's answer cell with the largest matched share, and it
    cell_b: tuple[float, str]
    spans_a: list[Span]
    spans_b: list[Span]

    @property
    def score(self) -> float:
        """The largest share, of either side, of a whole notebook or of one answer cell: a
        student who copied and then added their own code is as much a copy as the student
        copied from, and one answer passed on is a copy in a notebook otherwise one's own."""
        return max(self.share_a, self.share_b, self.cell_a[0], self.cell_b[0])


NOTHING = Comparison(0, 0.0, 0.0, (0.0, ""), (0.0, ""), [], [])


def compare(a: Document, b: Document, least: int) -> Comparison:
    """The fingerprints two documents share, as copydetect's compare_files finds them (its
    find_fingerprint_overlap and get_copied_slices), counted in own tokens; a share counts when
    ``least`` tokens at least are matched (in the notebook, or in the cell)."""
    if not a.token_coverage or not b.token_coverage or a.hashes.isdisjoint(b.hashes):
        return NOTHING
    idx_a, idx_b = find_fingerprint_overlap(a.hashes, b.hashes, a.hash_idx, b.hash_idx)
    slices_a, slices_b = get_copied_slices(idx_a, a.k), get_copied_slices(idx_b, b.k)
    matched_a, matched_b = a.matched(slices_a), b.matched(slices_b)
    own_a, own_b = int(np.sum(matched_a)), int(np.sum(matched_b))
    if min(own_a, own_b) < least:
        return NOTHING
    return Comparison(min(own_a, own_b), min(1.0, own_a / a.token_coverage),
                      min(1.0, own_b / b.token_coverage), a.best_cell(matched_a, least),
                      b.best_cell(matched_b, least), a.spans(slices_a), b.spans(slices_b))


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
    where: list
    hashes: np.ndarray                   # the hash of the k-gram starting at each token


SEPARATOR = "\n\n"


def assemble(pieces: list[Piece], k: int, window: int, given: np.ndarray, *,
             words: bool) -> Document:
    """The pieces as one document. Each piece is winnowed on its own, so that no fingerprint
    spans two cells (the end of one answer and the start of the next are not a passage)."""
    raw, parts, token_parts, positions = "", [], [], {}
    tokens: str | list[str] = [] if words else ""
    offsets, spans, masks = [], [], []
    for piece in pieces:
        if raw:
            raw += SEPARATOR
        begin, first = len(raw), len(tokens)
        parts.append((begin, begin + len(piece.text), piece.cell))
        raw += piece.text
        tokens += piece.tokens
        token_parts.append((first, len(tokens), piece.cell))
        if words:
            spans += [(begin + a, begin + b) for a, b in piece.where]
        else:  # copydetect's offsets: filtered position -> characters removed before it
            offsets += [(first + f, begin - first + removed) for f, removed in piece.where]
        given_at = np.flatnonzero(np.isin(piece.hashes, given))
        masks.append(_covered(given_at.tolist(), k, len(piece.tokens)))
        for fingerprint, starts in winnowed(piece.hashes, window, given).items():
            positions.setdefault(fingerprint, []).extend(first + s for s in starts)
    return Document(k, raw, tokens, np.array(offsets, dtype=np.int64).reshape(-1, 2)
                    if offsets else np.array([]), positions, parts, token_parts,
                    np.concatenate(masks) if masks else np.zeros(0, dtype=bool),
                    word_spans=spans if words else None)
