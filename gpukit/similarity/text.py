"""Written answers: word n-grams over normalised words, winnowed like code.

Each word is lower-cased, stemmed (the Snowball English stemmer: "operations" and "operate" are
one word), and mapped through a small synonym map (:data:`SYNONYMS`: "quicker" is "faster",
"utilise" is "use"); words that carry no content ("the", "is", "very") are dropped. Every run of
:data:`N` such words is a fingerprint, winnowed with copydetect's winnowing, and the
instructions' own n-grams (the question, the notebook's text) are boilerplate.

What it finds: an answer passed on and edited, sentences kept with words swapped for synonyms
the map knows or for other forms of the same word, words inserted or dropped here and there
(every run of N unchanged content words still matches), sentences reordered. What it does not
find: a paraphrase that rewrites every sentence, synonyms the map does not know in every third
word, a translation. Two students who answer the same question in their own words share few
runs of three content words outside the question's own.
"""

from __future__ import annotations

import re

import numpy as np
import snowballstemmer

from gpukit.similarity.document import Document, Piece, assemble, stable_hashes
from gpukit.similarity.extract import Part

N = 3        # content words per fingerprint
WINDOW = 1   # written answers are short: every n-gram is kept
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_stemmer = snowballstemmer.stemmer("english")

# Words that carry no content of an answer (articles, auxiliaries, pronouns, intensifiers).
STOPWORDS = frozenset("""
a an the and or but if then so of to in on at by for with from into onto as is are was were be
been being am do does did done has have had having it its it's this that these those there here
which who whom whose what when where while than too very really quite just also only even much
many more most less least some any each every all both either neither not no nor can could will
would shall should may might must i we you he she they them their our your my me us his her one
ones own same such about over under again further once out up down off why how other another
because since thus therefore hence however whereas although though
""".split())

# Groups of words a student may swap for each other; every word of a group reads as its first.
# Kept small and to the vocabulary of these labs: a synonym the map lacks breaks an n-gram.
SYNONYMS = (
    ("use", "utilize", "utilise", "employ", "apply", "leverage"),
    ("fast", "faster", "quick", "quicker", "rapid", "rapidly", "speedy", "swift", "quickly"),
    ("slow", "slower", "sluggish"),
    ("big", "bigger", "large", "larger", "huge", "great", "greater"),
    ("small", "smaller", "little", "tiny", "few", "fewer"),
    ("compute", "calculate", "computation", "calculation", "evaluate"),
    ("show", "display", "demonstrate", "illustrate", "reveal"),
    ("make", "create", "build", "construct", "produce", "generate"),
    ("need", "require", "necessary", "needed", "required", "essential"),
    ("stop", "prevent", "avoid", "block", "disable"),
    ("keep", "retain", "hold", "store", "preserve"),
    ("free", "release", "return", "give"),
    ("run", "execute", "perform", "carry"),
    ("start", "begin", "launch", "initiate"),
    ("end", "finish", "complete", "conclude"),
    ("move", "transfer", "copy", "send", "shift"),
    ("parallel", "simultaneous", "simultaneously", "concurrent", "concurrently", "parallelism"),
    ("mistake", "error", "bug", "fault"),
    ("wrong", "incorrect", "invalid"),
    ("right", "correct", "proper", "properly", "correctly"),
    ("get", "obtain", "receive", "acquire"),
    ("change", "alter", "modify", "vary"),
    ("help", "assist", "aid"),
    ("improve", "boost", "enhance", "increase", "raise"),
    ("reduce", "decrease", "lower", "cut", "shrink"),
    ("important", "crucial", "vital", "key", "significant"),
    ("method", "approach", "technique", "way"),
    ("result", "outcome", "output"),
    ("time", "duration"),
    ("memory", "ram"),
    ("gpu", "gpus", "graphics", "accelerator", "card"),
    ("cpu", "cpus", "processor"),
    ("model", "network", "net"),
    ("value", "number", "amount"),
    ("probability", "probabilities", "likelihood"),
    ("scale", "normalize", "normalise", "rescale", "standardize", "standardise"),
    ("check", "verify", "ensure", "confirm", "test"),
    ("whole", "entire", "full"),
    ("allow", "let", "enable", "permit"),
    ("like", "similar", "alike"),
    ("same", "identical", "equal"),
    ("different", "distinct", "separate"),
    ("overhead", "cost", "expense"),
    ("data", "dataset", "input", "inputs"),
)
_CANONICAL = {_stemmer.stemWord(word): _stemmer.stemWord(group[0])
              for group in SYNONYMS for word in group}


def normalised(word: str) -> str | None:
    """The form a word is compared in, or None for a word that carries no content."""
    word = word.lower().replace("’", "'")
    if word in STOPWORDS or word.isdigit() and len(word) < 2:
        return None
    stem = _stemmer.stemWord(word.removesuffix("'s"))
    return _CANONICAL.get(stem, stem)


def words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The content words of ``text`` in compared form, and where each stands in ``text``."""
    found, spans = [], []
    for match in _WORD.finditer(text):
        form = normalised(match.group())
        if form is not None:
            found.append(form)
            spans.append(match.span())
    return found, spans


def _ngram_hashes(forms: list[str], n: int) -> np.ndarray:
    return stable_hashes([" ".join(forms[i:i + n]) for i in range(len(forms) - n + 1)])


def boilerplate(text: str, n: int = N) -> np.ndarray:
    """Every n-gram of the given text (the instructions, the questions)."""
    return np.unique(_ngram_hashes(words(text)[0], n))


def text_document(parts: tuple[Part, ...], given: np.ndarray, n: int = N,
                  window: int = WINDOW) -> Document:
    """A student's written answers as one document, fingerprinted, the given n-grams removed."""
    pieces = []
    for part in parts:
        forms, spans = words(part.text)
        pieces.append(Piece(part.cell, part.text, forms, spans, _ngram_hashes(forms, n)))
    return assemble(pieces, n, window, given, words=True)
