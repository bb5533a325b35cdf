"""Code fingerprints: copydetect's tokenizer and winnowing, the release's code removed.

copydetect (a maintained implementation of the MOSS method, Schleimer, Wilkerson and Aiken,
"Winnowing", SIGMOD 2003) tokenizes the code with Pygments and replaces every variable and
attribute name by ``V``, function names by ``F``, class names by ``O`` and strings by ``S``,
dropping comments and whitespace. Every run of ``k`` such characters is hashed, and winnowing
keeps the smallest hash of each window of ``window`` hashes: any match of at least
``k + window - 1`` characters is guaranteed to be found. So renamed variables, changed comments,
reformatted code and reordered functions (each function's fingerprints are its own, wherever it
stands) leave the fingerprints as they were. What it does not see: code rewritten statement by
statement (a loop for a comprehension, another order of the same steps inside a function).

Fingerprints of the release's code (given cells, the answer cells' stubs, code the instructions
quote) are boilerplate: every run of ``k`` characters found there is removed from every student's
fingerprints, as copydetect does with its boilerplate directories.
"""

from __future__ import annotations

import numpy as np
from copydetect.utils import filter_code

from gpukit.similarity.document import Document, Piece, assemble, stable_hashes
from gpukit.similarity.extract import Part

# Filtered characters a fingerprint covers (copydetect's noise threshold: shorter matches are
# chance), and the winnowing window (matches of K + WINDOW - 1 characters are always found).
K = 20
WINDOW = 4
LANGUAGE = "python"


def _filtered(code: str) -> tuple[str, np.ndarray]:
    return filter_code(code, "cell.py", LANGUAGE)


def _hashes(filtered: str, k: int) -> np.ndarray:
    """The hash of every run of k filtered characters (copydetect's hashed_kgrams, hashed
    stably)."""
    return stable_hashes([filtered[i:i + k] for i in range(len(filtered) - k + 1)])


def boilerplate(code: str, k: int = K) -> np.ndarray:
    """Every fingerprint of the given code (all of them, not winnowed: copydetect's way)."""
    return np.unique(_hashes(_filtered(code)[0], k))


def code_document(parts: tuple[Part, ...], given: np.ndarray, k: int = K,
                  window: int = WINDOW) -> Document:
    """A student's code parts as one document, fingerprinted, the given fingerprints removed."""
    pieces = []
    for part in parts:
        filtered, offsets = _filtered(part.text)
        pieces.append(Piece(part.cell, part.text, filtered, offsets.tolist(),
                            _hashes(filtered, k)))
    return assemble(pieces, k, window, given, words=False)
