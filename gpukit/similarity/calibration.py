"""The classes the similarity threshold was chosen on: each lab's sample class, honest, with
copies planted in it.

A lab's sample class (its reference solution, untouched release, demo class and fixtures:
gpukit/demo/sample_class.py) is honest work that follows one template. A lab's
``fixtures/similarity.py`` adds to it:

* ``ANSWERS``: written answers in the students' own words, ``{student: {question: text}}``
  (the sample class otherwise hands in the reference answers);
* ``PLANTED``: copies, ``{name: Planted(...)}``, each a sample submission put through what a
  copier does (:func:`rename`, :func:`reorder_functions`, :func:`recomment`,
  :func:`copy_cells`, :func:`answer`), and whether gpukit similarity must list it with the
  submission it copies (``found``: the kinds of work listed, code and/or written; empty: missed,
  and the table says why);
* ``SAMPLE_PAIRS``: pairs of the sample class itself that are copies by construction (a fixture
  written from another), with the kinds listed and why.

Every other pair of the class is honest and must stay below the threshold. tests/
test_similarity.py holds each lab to its table; bench/similarity_speed.py builds a class of 300
from the same pieces.
"""

from __future__ import annotations

import ast
import copy
import importlib
import io
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbformat
from nbformat.notebooknode import NotebookNode

from gpukit.config import Lab
from gpukit.course.layout import CourseLayout
from gpukit.demo.sample_class import sample_class
from gpukit.notebooks.markers import markdown_marker, marked_id
from gpukit.similarity.extract import Given, Work, given_material, student_work
from gpukit.similarity.pairs import KINDS, Findings, Settings, find_similar

Class = dict[str, NotebookNode]
Step = Callable[[NotebookNode, Class], NotebookNode]


@dataclass(frozen=True)
class Planted:
    """A copy of ``source``'s work, made by ``steps`` from ``base``'s notebook (default: the
    source's own), that gpukit similarity must list with ``source`` for the kinds ``found``."""

    source: str
    steps: tuple[Step, ...]
    found: tuple[str, ...]
    why: str
    base: str = ""


@dataclass(frozen=True)
class Row:
    """One line of a lab's planted-copy table: what was expected and what was found."""

    name: str
    source: str
    expected: tuple[str, ...]
    listed: tuple[str, ...]
    scores: dict[str, float]
    why: str

    @property
    def as_expected(self) -> bool:
        return set(self.expected) == set(self.listed)


@dataclass
class Calibration:
    lab: str
    findings: Findings
    rows: list[Row]                       # planted copies and the sample class's own copies
    unexpected: list[tuple[str, str, dict[str, float]]] = field(default_factory=list)


def table_of(lab: Lab) -> ModuleType | None:
    """The lab's ``fixtures/similarity.py``, if it has one."""
    name = f"{type(lab).__module__}.fixtures.similarity"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def _is_students_code(cell: NotebookNode) -> bool:
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and (nbgrader.get("solution") or not nbgrader)


def _code_cells(nb: NotebookNode, cells: tuple[str, ...]) -> list[NotebookNode]:
    return [cell for cell in nb.cells if _is_students_code(cell)
            and (not cells or cell.get("id") in cells)]


def rename(mapping: dict[str, str], cells: tuple[str, ...] = ()) -> Step:
    """Rename identifiers (whole words, strings and attributes included) in the student's code
    cells (or only in ``cells``), as a copier renames variables."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")

    def step(nb: NotebookNode, _: Class) -> NotebookNode:
        nb = copy.deepcopy(nb)
        for cell in _code_cells(nb, cells):
            cell.source = pattern.sub(lambda m: mapping[m.group()], cell.source)
        return nb
    return step


def reorder_functions(cells: tuple[str, ...] = ()) -> Step:
    """Put the top-level functions and classes of each code cell in reverse order."""
    def step(nb: NotebookNode, _: Class) -> NotebookNode:
        nb = copy.deepcopy(nb)
        for cell in _code_cells(nb, cells):
            cell.source = _reordered(cell.source)
        return nb
    return step


def _reordered(source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines()
    blocks = [(min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1,
               node.end_lineno) for node in tree.body
              if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    if len(blocks) < 2:
        return source
    texts = ["\n".join(lines[start:end]) for start, end in blocks]
    result, cursor = [], 0
    for (start, end), text in zip(blocks, reversed(texts), strict=True):
        result += lines[cursor:start] + [text]
        cursor = end
    return "\n".join(result + lines[cursor:])


def recomment(cells: tuple[str, ...] = ()) -> Step:
    """Change the comments and the layout: every comment dropped (the marker line kept), a
    comment of the copier's own before each function, two-space indents, spaces inside
    brackets, no blank lines."""
    def step(nb: NotebookNode, _: Class) -> NotebookNode:
        nb = copy.deepcopy(nb)
        for cell in _code_cells(nb, cells):
            cell.source = _recommented(cell.source)
        return nb
    return step


def _recommented(source: str) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    lines = source.splitlines()
    for token in reversed(tokens):  # drop comments, right to left so columns stay valid
        if token.type == tokenize.COMMENT and not marked_id(token.string):
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column].rstrip()
    out = []
    for line in lines:
        if not line.strip():
            continue
        stripped = line.lstrip(" ")
        indent = (len(line) - len(stripped)) // 2
        if stripped.startswith(("def ", "class ")):
            out.append(" " * indent + f"# step: {stripped.split('(')[0].split()[-1]}")
        out.append(" " * indent + stripped.replace("(", "( ").replace(")", " )"))
    return "\n".join(out)


def copy_cells(student: str, cells: tuple[str, ...]) -> Step:
    """Take these answer cells from ``student``'s notebook (a copier's own notebook with one
    or two answers copied in)."""
    def step(nb: NotebookNode, honest: Class) -> NotebookNode:
        nb = copy.deepcopy(nb)
        theirs = {cell.get("id"): cell.source for cell in honest[student].cells}
        for cell in nb.cells:
            if cell.get("id") in cells:
                cell.source = theirs[cell.get("id")]
        return nb
    return step


def answer(question: str, text: str) -> Step:
    """Write ``text`` as the written answer to ``question``."""
    def step(nb: NotebookNode, _: Class) -> NotebookNode:
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            if cell.get("id") == question:
                cell.source = f"{markdown_marker(question)}\n{text.strip()}"
        return nb
    return step


def honest_class(course_root: Path, lab: Lab) -> Class:
    """The lab's sample class with its students' own written answers (``ANSWERS``)."""
    notebooks = sample_class(course_root, lab)
    table = table_of(lab)
    for student, answers in (getattr(table, "ANSWERS", {}) if table else {}).items():
        for question, text in answers.items():
            notebooks[student] = answer(question, text)(notebooks[student], notebooks)
    return notebooks


def planted_class(course_root: Path, lab: Lab) -> Class:
    """The honest class with the lab's planted copies (``PLANTED``) among it."""
    honest = honest_class(course_root, lab)
    notebooks = dict(honest)
    table = table_of(lab)
    for name, planted in (getattr(table, "PLANTED", {}) if table else {}).items():
        nb = honest[planted.base or planted.source]
        for step in planted.steps:
            nb = step(nb, honest)
        # A copier who started from their own notebook (base) is that student: not a second one.
        notebooks.pop(planted.base, None)
        notebooks[name] = nb
    return notebooks


def class_works(course_root: Path, lab: Lab, notebooks: Class) -> tuple[list[Work], Given]:
    release = nbformat.read(CourseLayout(course_root).release(lab), as_version=4)
    given = given_material(release)
    return [student_work(student, nb, release, given)
            for student, nb in sorted(notebooks.items())], given


def calibrate(course_root: Path, lab: Lab, settings: Settings) -> Calibration:
    """gpukit similarity on the lab's planted class, against the lab's table."""
    works, given = class_works(course_root, lab, planted_class(course_root, lab))
    findings = find_similar(lab.name, works, given, settings)
    listed = {frozenset((p.a, p.b)): p for p in findings.pairs}
    table = table_of(lab)
    expected = {name: (planted.source, planted.found, planted.why)
                for name, planted in (getattr(table, "PLANTED", {}) if table else {}).items()}
    for (a, b), (found, why) in (getattr(table, "SAMPLE_PAIRS", {}) if table else {}).items():
        expected[a] = (b, found, why)
    rows, family = [], _Families()
    for name, (source, found, why) in expected.items():
        pair = listed.get(frozenset((name, source)))
        family.join(name, source)
        kinds = tuple(k for k in KINDS if pair is not None and pair.score(k) >=
                      settings.threshold)
        scores = {k: findings.score(name, source, k) for k in KINDS}
        rows.append(Row(name, source, tuple(found), kinds, scores, why))
    # Two copies of one submission are copies of each other: listing them is right too.
    unexpected = [(p.a, p.b, {k: p.score(k) for k in KINDS}) for p in findings.pairs
                  if family.of(p.a) != family.of(p.b) or family.of(p.a) is None]
    return Calibration(lab.name, findings, rows, unexpected)


class _Families:
    """Students linked by copying, directly or through a third (union-find)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def of(self, student: str) -> str | None:
        if student not in self._parent:
            return None
        while self._parent[student] != student:
            student = self._parent[student]
        return student

    def join(self, a: str, b: str) -> None:
        for student in (a, b):
            self._parent.setdefault(student, student)
        self._parent[self.of(a)] = self.of(b)

