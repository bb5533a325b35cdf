"""`gpukit report`: one self-contained HTML page per assignment, and a course page linking them.

The page is written beside the grading output (graded/<assignment>/report.html), so its links to
the students' feedback pages (feedback/<student>.html) work wherever the folder is copied.
"""

from __future__ import annotations

import datetime
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

import jinja2

from gpukit import __version__
from gpukit.config import Lab, LoadedConfig
from gpukit.reports import plots
from gpukit.reports.attention import ADVICE, needs_attention
from gpukit.reports.classbook import ClassResults, load_class
from gpukit.reports.statistics import item_statistics, summarize
from gpukit.safe_html import CONTENT_SECURITY_POLICY
from gpukit.similarity.course import SimilarityError, similarity_of
from gpukit.similarity.page import SectionView, section

REPORT_NAME = "report.html"
INDEX_NAME = "index.html"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("gpukit.reports", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_templates.filters["points"] = lambda value: "" if value is None else f"{value:g}"
_templates.filters["percent"] = lambda value: "—" if value is None else f"{100 * value:.0f} %"
_templates.filters["signed"] = lambda value: "—" if value is None else f"{value:+.2f}"
# The pages run no script and load nothing (plots are data URIs); the policy keeps it so for
# whatever a student's id or message holds (gpukit/safe_html.py).
_templates.globals["csp"] = CONTENT_SECURITY_POLICY


def templates() -> jinja2.Environment:
    """The reports' templates (the similarity page renders with them too)."""
    return _templates


@dataclass(frozen=True)
class ReportFile:
    assignment: str
    path: Path
    submissions: int


def write_report(loaded: LoadedConfig, lab: Lab, output: Path | None = None) -> ReportFile:
    """Build the assignment's page from its gradebook rows and records; return where it is."""
    results = load_class(loaded, lab, output)
    path = results.output / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        similar = section(similarity_of(loaded, lab))
    except SimilarityError as error:  # nothing submitted, no release: the section says so
        similar = section(None, f"{error.message} {error.hint or ''}".strip())
    path.write_text(render_report(results, lab, shown_folder(results.output, loaded.root),
                                  similar), encoding="utf-8")
    return ReportFile(lab.name, path, len(results.students))


def shown_folder(folder: Path, root: Path) -> str:
    """How a page names ``folder``: relative to the course root, else by its name alone. The
    page travels (to a teaching assistant, a shared drive): no path of this machine goes with it.
    """
    folder, root = folder.resolve(), root.resolve()
    return folder.relative_to(root).as_posix() if folder.is_relative_to(root) else folder.name


def render_report(results: ClassResults, lab: Lab, records_folder: str,
                  similar: SectionView | None = None) -> str:
    """The class report's HTML; ``records_folder`` is how the page names the grading output;
    ``similar``: the similarity section (gpukit/similarity/page.py)."""
    summary = summarize(results)
    items = item_statistics(results)
    totals = [s.total for s in results.scored()]
    seconds = [s.record.grading_seconds for s in results.students
               if s.record is not None and s.record.grading_seconds]
    reported = _reported_times(results)
    figures = {"status": plots.status_chart(summary.by_status) if summary.by_status else None,
               "scores": plots.score_histogram(totals, results.max_total) if totals else None,
               "checks": plots.pass_rate_chart(items) if any(s.scored for s in items) else None,
               "grading_time": plots.grading_time_histogram(seconds) if seconds else None,
               "reported": plots.reported_vs_clock(reported,
                                                   getattr(lab, "timing_min_fraction", None))
               if reported else None}
    return _templates.get_template("report.html.j2").render(
        results=results, summary=summary, items=items, figures=figures,
        attention=needs_attention(results), advice=ADVICE, records_folder=records_folder,
        feedback_links={s.student: os.path.relpath(s.feedback, results.output)
                        for s in results.students if s.feedback is not None},
        median_seconds=statistics.median(seconds) if seconds else None,
        similarity=similar or section(None, "Not computed for this page."), in_report=True,
        generated=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        version=__version__)


def write_index(loaded: LoadedConfig, reports: list[ReportFile]) -> Path:
    """The course page: one link per assignment report (graded/index.html)."""
    folder = loaded.root / "graded"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INDEX_NAME
    links = [(report, os.path.relpath(report.path, folder)) for report in reports]
    path.write_text(_templates.get_template("index.html.j2").render(
        course_id=loaded.course.course_id, links=links, version=__version__), encoding="utf-8")
    return path


def _reported_times(results: ClassResults) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for student in results.students:
        for check in student.record.checks if student.record is not None else []:
            for name, pair in check.measured.items():
                points.setdefault(name, []).append((pair["reported"], pair["clock"]))
    return points
