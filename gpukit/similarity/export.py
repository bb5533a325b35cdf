"""The listed pairs as a CSV file (`gpukit similarity`, `gpukit export --format similarity`).

One row per listed pair: both students, the kinds that reached the threshold, and for code and
for written answers the score, each side's share of its whole notebook, each side's answer cell
with the largest share (``cell:share``) and the cells involved. Every cell goes
through the kit's spreadsheet writer: a student id or cell name that would start a formula is
written as text (gpukit/untrusted.py).
"""

from __future__ import annotations

import io

from gpukit.similarity.pairs import KINDS, Findings
from gpukit.untrusted import SpreadsheetWriter

CSV_NAME = "similarity.csv"
COLUMNS = ("assignment", "student_a", "student_b", "listed_for",
           *(f"{kind}_{column}" for kind in KINDS
             for column in ("score", "share_a", "share_b", "cell_a", "cell_b", "cells")),
           "threshold")


def pairs_csv(findings: Findings) -> str:
    """The listed pairs, highest score first."""
    out = io.StringIO()
    writer = SpreadsheetWriter(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    threshold = findings.settings.threshold
    for pair in findings.pairs:
        row = [findings.assignment, pair.a, pair.b,
               " ".join(kind for kind in KINDS if kind in pair.matches)]
        for kind in KINDS:
            match = pair.matches.get(kind)
            row += [_number(pair.score(kind)),
                    _number(match.share_a) if match else "",
                    _number(match.share_b) if match else "",
                    _cell(match.cell_a) if match else "", _cell(match.cell_b) if match else "",
                    "; ".join(match.cells) if match else ""]
        writer.writerow([*row, _number(threshold)])
    return out.getvalue()


def _number(value: float) -> str:
    return f"{value:.3f}"


def _cell(best: tuple[float, str]) -> str:
    share, cell = best
    return f"{cell}:{share:.3f}" if cell else ""
