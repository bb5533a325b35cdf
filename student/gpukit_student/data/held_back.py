"""Training images that a grading kernel keeps back from the notebook it runs.

When the grader runs a submitted notebook, its kernel asks (before any notebook code runs) to
hold back a slice of every dataset's training split: the notebook's loads then return
the training split without those rows, and the grader's checks measure the trained model on
them. An honest model scores alike on images it never saw and on the test set; a model that
recognises the test images (looks them up, or was trained on them) scores far higher on the
test set than on the held-back images, and the grader sees it.

The slice is the same in every grading kernel (GRADING_SEED), so that a notebook graded twice
trains on the same images and gets the same grade. It is no secret: knowing which images are
held back does not help a model that learnt from the test set look honest.

Outside a grading kernel nothing is held back: a student's loads return every training image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: At most this many training rows are held back (MNIST: 5,000 of 60,000) ...
HELD_BACK_ROWS = 5000
#: ... and never more than this fraction of a (smaller) training split.
HELD_BACK_FRACTION = 0.1
#: Picks the rows every grading kernel holds back.
GRADING_SEED = 20261204


@dataclass
class _HoldingBack:
    seed: int | None = None


_STATE = _HoldingBack()


def hold_back_training_rows(seed: int) -> None:
    """From now on, every training split this process loads lacks the rows ``seed`` picks
    (called by the grading kernel, with GRADING_SEED, before the notebook runs)."""
    _STATE.seed = seed


def holding_back() -> bool:
    return _STATE.seed is not None


def held_back_rows(n_train: int) -> np.ndarray:
    """The sorted indices of the training rows held back from a split of ``n_train`` rows."""
    if _STATE.seed is None:
        return np.arange(0)
    count = min(HELD_BACK_ROWS, int(n_train * HELD_BACK_FRACTION))
    rows = np.random.default_rng(_STATE.seed).choice(n_train, size=count, replace=False)
    return np.sort(rows)


def without_held_back(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training split as the notebook gets it: without the held-back rows (if any)."""
    rows = held_back_rows(len(x))
    if not len(rows):
        return x, y
    keep = np.ones(len(x), dtype=bool)
    keep[rows] = False
    return x[keep], y[keep]


def only_held_back(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The held-back rows of a full training split (empty outside a grading kernel)."""
    rows = held_back_rows(len(x))
    return x[rows], y[rows]
