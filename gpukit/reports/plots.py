"""The report's plots, drawn with matplotlib into PNG data URIs (the page needs no network and
no JavaScript). Figures are built without pyplot, so no global state and no display needed."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gpukit.reports.statistics import ItemStatistics

COLOURS = {"graded": "#2e7d32", "integrity": "#c62828", "environment": "#6a1b9a",
           "error": "#ef6c00", "timeout": "#f9a825", "invalid": "#616161",
           "not graded": "#9e9e9e"}


def _png(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def status_chart(by_status: dict[str, int]) -> str:
    figure = Figure(figsize=(5, 0.5 + 0.4 * len(by_status)))
    axes = figure.add_subplot()
    names = list(by_status)[::-1]
    axes.barh(names, [by_status[n] for n in names],
              color=[COLOURS.get(n, "#1565c0") for n in names])
    for y, name in enumerate(names):
        axes.annotate(str(by_status[name]), (by_status[name], y), xytext=(3, 0),
                      textcoords="offset points", va="center")
    axes.set_xlabel("submissions")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Submissions by status")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def score_histogram(totals: list[float], max_total: float) -> str:
    figure = Figure(figsize=(6, 3))
    axes = figure.add_subplot()
    bins = max(1, min(20, int(max_total) or 1))
    axes.hist(totals, bins=bins, range=(0, max_total or 1), color="#1565c0", edgecolor="white")
    axes.set_xlabel(f"automatic + manual points (of {max_total:g})")
    axes.set_ylabel("students")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Score distribution")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def pass_rate_chart(items: list[ItemStatistics]) -> str:
    rows = [s for s in items if s.pass_rate is not None][::-1]
    figure = Figure(figsize=(6, 0.6 + 0.32 * max(1, len(rows))))
    axes = figure.add_subplot()
    axes.barh([s.item.name for s in rows], [100 * s.pass_rate for s in rows],
              color=["#8e24aa" if s.item.written else "#1565c0" for s in rows])
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of scored submissions with full points")
    axes.set_title("Full points per check (purple: written answers, graded by hand)")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def grading_time_histogram(seconds: list[float]) -> str:
    figure = Figure(figsize=(6, 3))
    axes = figure.add_subplot()
    axes.hist(seconds, bins=min(20, max(1, len(seconds))), color="#00838f", edgecolor="white")
    axes.set_xlabel("seconds to grade one submission (the whole job)")
    axes.set_ylabel("submissions")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Grading time")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def reported_vs_clock(points: dict[str, list[tuple[float, float]]], min_fraction: float | None
                      ) -> str:
    """Each reported time against the grader's clock for the cell that measured it."""
    figure = Figure(figsize=(6, 4.5))
    axes = figure.add_subplot()
    largest = max((max(r, c) for pairs in points.values() for r, c in pairs), default=1.0)
    axes.plot([0, largest], [0, largest], color="#9e9e9e", linewidth=1,
              label="reported = grader's clock")
    if min_fraction:
        axes.plot([0, largest], [0, min_fraction * largest], color="#9e9e9e", linewidth=1,
                  linestyle="--", label=f"{min_fraction:g} x grader's clock")
    for name, pairs in sorted(points.items()):
        axes.scatter([c for _, c in pairs], [r for r, _ in pairs], label=name, s=18)
    axes.set_xlabel("grader's clock for the cell (s)")
    axes.set_ylabel("time the notebook reports (s)")
    axes.set_title("Reported training times against the grader's clock")
    axes.legend(fontsize="small")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def similarity_histogram(scores: dict[str, np.ndarray], threshold: float) -> str:
    """The scores of the pairs not listed (code, written answers), against the threshold."""
    figure = Figure(figsize=(6, 3))
    axes = figure.add_subplot()
    bins = np.linspace(0, 1, 21)
    for (kind, values), colour in zip(scores.items(), ("#1565c0", "#8e24aa"), strict=False):
        axes.hist(values, bins=bins, alpha=0.6, color=colour, edgecolor="white",
                  label=f"{kind} ({len(values)} pairs)")
    axes.axvline(threshold, color="#c62828", linewidth=1.5, label=f"threshold {threshold:g}")
    axes.set_yscale("log")  # most pairs score 0: a linear axis would hide every other bar
    largest = max((len(values) for values in scores.values()), default=1)
    axes.set_ylim(0.7, max(10, largest) * 2)
    axes.set_xlim(0, 1)
    axes.set_xlabel("score (share of one student's own work found in the other's)")
    axes.set_ylabel("pairs")
    axes.set_title("Scores of the pairs not listed")
    axes.legend(fontsize="small")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)
