"""`gpukit similarity`: planted copies among each lab's honest sample class, found or missed as
the lab's table says (gpukit/labs/<lab>/fixtures/similarity.py); honest pairs left alone; what
students control kept as text in the page and the CSV; the command end to end.

Nothing is graded: the sample classes' notebooks are compared as handed in (a released course,
tests/conftest.py's released_course, supplies the release and the solution they are edits of).
"""

from __future__ import annotations

import ast
import copy
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from gpukit.config import Course, LoadedConfig, load_config, python_source
from gpukit.course.layout import CourseLayout
from gpukit.labs import KIT_LABS, core_mnist, gpu_basics
from gpukit.safe_html import CONTENT_SECURITY_POLICY
from gpukit.similarity import calibration
from gpukit.similarity.calibration import (
    answer,
    calibrate,
    class_works,
    honest_class,
    planted_class,
    recomment,
    rename,
    reorder_functions,
)
from gpukit.similarity.course import similarity_of
from gpukit.similarity.document import stable_hashes, winnowed
from gpukit.similarity.export import pairs_csv
from gpukit.similarity.extract import Work, given_material, read_notebook, student_work
from gpukit.similarity.page import PAGE_NAME, render_page
from gpukit.similarity.pairs import KINDS, Settings, find_similar
from gpukit.similarity.text import normalised, words
from gpukit.untrusted import FORMULA_STARTS
from tests.conftest import FIXTURES, suite_course
from tests.html_page import ParsedPage, live_markup, open_in_chromium

COURSE = suite_course()
SETTINGS = Settings(COURSE.similarity_threshold, COURSE.similarity_common_share)
LAB_IDS = [lab().lab_id for lab in KIT_LABS]


@pytest.fixture(scope="module")
def calibrations(released_course: LoadedConfig) -> dict:
    return {lab.lab_id: calibrate(released_course.root, lab, SETTINGS)
            for lab in released_course.course.assignments}


# ------------------------------------------------------------------ right on both sides, per lab

@pytest.mark.parametrize("lab_id", LAB_IDS)
def test_planted_copies_are_found_or_missed_as_the_lab_s_table_says(calibrations, lab_id):
    rows = calibrations[lab_id].rows
    assert {row.name: row.listed for row in rows} == {row.name: row.expected for row in rows}
    # Every lab's table plants each kind of copy: whole notebooks renamed, reordered or
    # recommented, one cell, a reworded answer, and a paraphrase it must miss.
    found = {kind for row in rows for kind in row.listed}
    assert found == set(KINDS), lab_id
    assert any(not row.expected for row in rows), f"{lab_id}: no planted copy is missed"
    for row in rows:
        for kind in row.expected:
            assert row.scores[kind] >= SETTINGS.threshold + 0.15, (row.name, kind, row.scores)


@pytest.mark.parametrize("lab_id", LAB_IDS)
def test_honest_pairs_are_not_listed(calibrations, lab_id):
    calibrated = calibrations[lab_id]
    assert calibrated.unexpected == []
    for kind in KINDS:  # the background stays far below the threshold
        assert calibrated.findings.unrelated(kind).max() < SETTINGS.threshold - 0.15, kind


def test_without_the_release_and_the_common_ground_honest_pairs_would_be_listed(
        released_course):
    """What keeps the honest sample class apart: it is one template and one reference solution,
    edited. Compared as raw text (no boilerplate, nothing common), nearly every pair is listed:
    the honest-pairs test above can fail."""
    lab = released_course.course.lab("gpu_basics")
    works, given = class_works(released_course.root, lab, honest_class(released_course.root,
                                                                       lab))
    empty = np.array([], dtype=np.int64)
    raw = find_similar(lab.name, works, given, Settings(SETTINGS.threshold, 1.0),
                       boilerplate={"code": empty, "written": empty})
    honest = find_similar(lab.name, works, given, SETTINGS)
    assert len(raw.pairs) > len(works) * (len(works) - 1) // 4
    assert honest.pairs == []


def test_a_tutorial_the_course_gives_as_boilerplate_is_no_evidence(released_course, tmp_path):
    """Two students adapt d2l.ai's MLP from scratch, each in their own way: they share the
    tutorial's code. Listed while the course has not said that students follow it; not listed
    once the tutorial is in similarity_boilerplate."""
    lab = released_course.course.lab("core_mnist")
    notebooks = honest_class(released_course.root, lab)
    own_init = {"num_inputs, num_outputs, num_hiddens, sigma = 784, 10, 128, 0.05":
                "num_inputs, num_hiddens = 28 * 28, 128",
                "self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)":
                "self.W2 = nn.Parameter(0.01 * torch.randn(num_hiddens, 10))",
                "self.b2 = nn.Parameter(torch.zeros(num_outputs))":
                "self.b2 = nn.Parameter(torch.zeros(10))",
                "self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)":
                "self.W1 = nn.Parameter(0.01 * torch.randn(num_inputs, num_hiddens))"}
    other = copy.deepcopy(notebooks["keras-below-threshold"])
    theirs = _cell(notebooks["d2l-mlp-from-scratch"], "torch_model_code").source
    for old, new in own_init.items():
        assert theirs.count(old) == 1
        theirs = theirs.replace(old, new)
    _cell(other, "torch_model_code").source = theirs
    notebooks["also-follows-d2l"] = other
    del notebooks["keras-below-threshold"]

    def listed(tutorials: list[str]) -> set[frozenset[str]]:
        root = tmp_path / f"course-{len(tutorials)}"
        _course_dir(root, released_course, [core_mnist.Lab()], tutorials)
        submissions = _write_class(root / "in", notebooks)
        found = similarity_of(load_config(root / "grading_config.py"), lab,
                              submissions=submissions)
        return {frozenset((p.a, p.b)) for p in found.pairs}

    pair = frozenset(("also-follows-d2l", "d2l-mlp-from-scratch"))
    assert pair in listed([])
    assert pair not in listed(["d2l_mlp_scratch.py"])


# ---------------------------------------------------------------------- the pieces on their own

def _cell(nb, cell_id: str):
    return next(cell for cell in nb.cells if cell.get("id") == cell_id)


def test_a_copier_s_changes_are_real_changes_that_still_run():
    source = ("# gpukit:answer=x (keep this line: the grader finds your answer by it)\n"
              "def first(a):\n    # add one\n    return a + 1\n\n\n"
              "class Second:\n    def run(self, b):\n        return first(b) * 2\n\n\n"
              "print(Second().run(1))  # 4\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, id="x")])
    renamed = rename({"a": "value", "b": "item"})(nb, {}).cells[0].source
    reordered = reorder_functions()(nb, {}).cells[0].source
    recommented = recomment()(nb, {}).cells[0].source
    for text in (renamed, reordered, recommented):
        assert text != source
        ast.parse(text)
    assert "value + 1" in renamed and "run(self, item)" in renamed
    assert reordered.index("class Second") < reordered.index("def first")
    assert "add one" not in recommented and "  return a + 1" in recommented.replace("( ", "(")
    assert "gpukit:answer=x" in recommented  # the marker line stays


def test_answers_are_found_by_their_marker_when_colab_dropped_the_metadata(released_course):
    lab = released_course.course.lab("fashion_ann")
    notebooks = planted_class(released_course.root, lab)
    release = nbformat.read(CourseLayout(released_course.root).release(lab), as_version=4)
    given = given_material(release)
    original = student_work("s", notebooks["copy-renamed"], release, given)
    colab = copy.deepcopy(notebooks["copy-renamed"])
    for cell in colab.cells:
        cell.metadata = {}
    assert student_work("s", colab, release, given) == original
    assert {part.cell for part in original.code} >= {"model_code", "train_code", "own cells"}
    assert [part.cell for part in original.written] == list(given.written_cells)


def test_winnowing_keeps_repeated_fingerprints_and_drops_every_given_one():
    """copydetect 0.5.0's own boilerplate removal (np.intersect1d with assume_unique on
    repeating hashes) drops fingerprints that merely repeat: the kit winnows itself."""
    hashes = stable_hashes(["ab", "cd", "ab", "ef", "cd"])
    given = stable_hashes(["cd"])
    positions = winnowed(hashes, 1, given)
    assert sorted(positions.values()) == [[0, 2], [3]]
    assert stable_hashes(["V=V.V(V)"])[0] == stable_hashes(["V=V.V(V)"])[0] != hashes[0]


def test_fingerprints_are_the_same_in_every_process():
    code = ("from gpukit.similarity.document import stable_hashes;"
            "print(stable_hashes(['V=V.V(V)', 'use gpu fast']).tolist())")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120).stdout
            for seed in ("1", "2")}
    assert len(seen) == 1 and "[" in seen.pop()


def test_written_answers_compare_stems_and_synonyms_not_filler():
    assert normalised("utilizes") == normalised("use") == normalised("employing")
    assert normalised("quicker") == normalised("fast")
    assert normalised("the") is None and normalised("very") is None
    forms, spans = words("The GPUs run the operations in parallel.")
    assert forms == [normalised("gpu"), normalised("run"), normalised("operation"),
                     normalised("parallel")]
    assert spans[0] == (4, 8)


# ------------------------------------------------------------------- what students control

HOSTILE_IDS = ["=1+2", "@SUM(A1)", "-2+3", "+cmd", '<img src=x onerror=alert("id")>']
HOSTILE_CODE = ('# </pre></details><script>alert("code")</script>\n'
                'html = "<iframe src=javascript:alert(1)></iframe>"\n')
HOSTILE_ANSWER = ('<script>alert("answer")</script> =HYPERLINK("http://evil.example") '
                  '\x1b[31m red \x1b[0m')


@pytest.fixture(scope="module")
def hostile(released_course, tmp_path_factory) -> dict:
    """gpu_basics's planted class, the copy and its source under hostile ids, hostile text in
    their cells, and a few entries that are not submissions at all."""
    lab = released_course.course.lab("gpu_basics")
    notebooks = planted_class(released_course.root, lab)
    renames = dict(zip(["copy-renamed", "other-spellings", "answer-reworded", "batch-partly-moved",
                        "device-hardcoded-cpu"], HOSTILE_IDS, strict=True))
    for old, new in renames.items():
        notebooks[new] = notebooks.pop(old)
    for student in HOSTILE_IDS[:2]:
        nb = notebooks[student]
        _cell(nb, "move_code").source += "\n" + HOSTILE_CODE
        notebooks[student] = answer("q_empty_cache", HOSTILE_ANSWER)(nb, {})
    root = tmp_path_factory.mktemp("hostile")
    _course_dir(root, released_course, [gpu_basics.Lab()])
    folder = _write_class(root / "in", notebooks)
    (folder / "bad\x1b[2Jname.ipynb").write_text("{}")
    (folder / "linked.ipynb").symlink_to(folder / f"{HOSTILE_IDS[0]}.ipynb")
    (folder / "not-json.ipynb").write_text("{ this is not json")
    loaded = load_config(root / "grading_config.py")
    findings = similarity_of(loaded, lab, submissions=folder)
    page = root / PAGE_NAME
    page.write_text(render_page(findings, "c1"), encoding="utf-8")
    return {"findings": findings, "page": page, "csv": pairs_csv(findings), "root": root}


def test_hostile_entries_are_skipped_with_the_reason(hostile):
    problems = dict(hostile["findings"].problems)
    assert set(problems) == {"bad_2Jname-" + _hash_of("bad\x1b[2Jname"), "linked",
                             "not-json"}, problems
    assert "symbolic link" in problems["linked"]
    assert "not a readable Jupyter notebook" in problems["not-json"]
    assert "not printable" in next(v for k, v in problems.items() if k.startswith("bad"))


def _hash_of(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()[:8]


def test_hostile_ids_and_text_are_text_in_the_page(hostile):
    listed = {frozenset((p.a, p.b)) for p in hostile["findings"].pairs}
    assert frozenset(HOSTILE_IDS[:2]) in listed  # the copy is still found
    html = hostile["page"].read_text(encoding="utf-8")
    parsed = ParsedPage(html)
    assert live_markup(parsed) == []
    assert parsed.head()[1] == ("meta", {"http-equiv": "Content-Security-Policy",
                                         "content": CONTENT_SECURITY_POLICY})
    shown = parsed.shown()
    for text in (*HOSTILE_IDS[:2], '</pre></details><script>alert("code")</script>',
                 '<script>alert("answer")</script>', "<iframe src=javascript:alert(1)></iframe>"):
        assert text in shown, text
    assert "\x1b" not in html and str(hostile["root"]) not in html
    opened, = open_in_chromium(hostile["page"])
    assert opened["dialogs"] == opened["requests"] == opened["errors"] == []


def test_hostile_ids_cannot_start_a_formula_in_the_csv(hostile):
    rows = list(csv.reader(io.StringIO(hostile["csv"])))
    assert rows[0][:3] == ["assignment", "student_a", "student_b"]
    ids = {cell for row in rows[1:] for cell in row[1:3]}
    for student in HOSTILE_IDS[:2]:
        assert "'" + student in ids
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_STARTS), cell
    copy_row = next(row for row in rows if {row[1], row[2]} == {"'" + i for i in HOSTILE_IDS[:2]})
    assert copy_row[3] == "code written" and float(copy_row[4]) >= SETTINGS.threshold


# ------------------------------------------------------------------------ the command, end to end

def gpukit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpukit", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_similarity_help_says_what_it_does():
    done = gpukit("similarity", "--help", cwd=Path(__file__).parent)
    assert done.returncode == 0
    for words_ in ("--assignment", "--submissions", "--threshold", "matching passages marked",
                   "similarity_threshold", "No grade changes"):
        assert words_ in " ".join(done.stdout.split()), words_


def test_similarity_of_a_graded_class_in_the_course_folders(released_course, tmp_path):
    """The notebooks `gpukit grade` keeps in submitted/<student>/<assignment>/: the command
    lists the planted copies, writes the page and the CSV, and export writes the CSV too."""
    lab = released_course.course.lab("gpu_basics")
    root = tmp_path / "course"
    _course_dir(root, released_course, [gpu_basics.Lab()])
    for student, nb in planted_class(released_course.root, lab).items():
        path = CourseLayout(root).submitted(student, lab)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    done = gpukit("similarity", "--no-progress", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "18 submissions, 153 pairs" in done.stdout
    assert "copy-renamed ~ other-spellings: code 1.00, written 1.00" in done.stdout
    assert "copy-one-function" not in done.stdout  # missed, as the table says
    page = root / "graded" / "gpu_basics" / PAGE_NAME
    assert "copy-renamed" in page.read_text(encoding="utf-8")
    rows = list(csv.DictReader((root / "graded" / "gpu_basics" / "similarity.csv").open()))
    assert {(r["student_a"], r["student_b"]) for r in rows} >= {
        ("copy-renamed", "other-spellings"), ("answer-reworded", "other-spellings")}
    done = gpukit("export", "--format", "similarity", "--assignment", "gpu_basics",
                  "--output", str(tmp_path / "pairs.csv"), cwd=root)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pairs.csv").read_text() == \
        (root / "graded" / "gpu_basics" / "similarity.csv").read_text()
    stricter = gpukit("similarity", "--no-progress", "--threshold", "1", cwd=root)
    assert stricter.returncode == 0 and "answer-reworded" not in stricter.stdout


def test_similarity_says_what_to_do_when_nothing_was_handed_in(released_course, tmp_path):
    root = tmp_path / "course"
    _course_dir(root, released_course, [gpu_basics.Lab()])
    done = gpukit("similarity", "--no-progress", cwd=root)
    assert done.returncode == 1
    assert "No submitted notebooks of gpu_basics" in done.stderr
    assert "gpukit grade" in done.stderr and "--submissions" in done.stderr
    assert "Traceback" not in done.stderr
    done = gpukit("similarity", "--threshold", "1.5", cwd=root)
    assert done.returncode == 2 and "0 < score <= 1" in done.stderr
    done = gpukit("similarity", "--submissions", str(tmp_path / "nowhere"), cwd=root)
    assert done.returncode == 1 and "is not a directory of submissions" in done.stderr


def test_a_bad_boilerplate_file_name_is_refused_with_its_field():
    with pytest.raises(Exception, match="similarity_boilerplate"):
        Course(course_id="c", assignments=[gpu_basics.Lab()],
               similarity_boilerplate=["tutorial.pdf"])
    with pytest.raises(Exception, match="similarity_threshold"):
        Course(course_id="c", assignments=[gpu_basics.Lab()], similarity_threshold=0)


# --------------------------------------------------------------------------------------- helpers

def _course_dir(root: Path, released: LoadedConfig, labs: list, tutorials=()) -> None:
    """A course directory with the released labs and, beside it, the tutorial files."""
    root.mkdir(parents=True, exist_ok=True)
    course = Course(course_id="c1", assignments=labs, similarity_boilerplate=list(tutorials))
    (root / "grading_config.py").write_text(python_source(course))
    for lab in labs:
        source = CourseLayout(released.root).release(released.course.lab(lab.lab_id))
        target = CourseLayout(root).release(lab)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    for name in tutorials:
        (root / name).write_text((FIXTURES / "similarity" / name).read_text())


def _write_class(folder: Path, notebooks: dict) -> Path:
    folder.mkdir(parents=True)
    for student, nb in notebooks.items():
        nbformat.write(nb, str(folder / f"{student}.ipynb"))
    return folder


def test_reading_never_runs_anything():
    """A notebook is parsed as JSON: outputs and metadata that would run or unpickle something
    elsewhere are never touched; a cell that is not text is refused."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", id="a")])
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "display_data", data={"application/x-pickle": "gASVAAAAAAAAAAB9lC4="})]
    assert read_notebook(nbformat.writes(nb)).cells[0].source == "x = 1"
    with pytest.raises(ValueError, match="not a readable Jupyter notebook"):
        read_notebook('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, '
                      '"cells": [{"cell_type": "code", "source": 7, "metadata": {}}]}')
    assert isinstance(Work("s", (), ()), Work) and calibration.table_of(KIT_LABS[0]())
