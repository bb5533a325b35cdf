"""The adversarial and fault corpus, graded as one class through the real `gpukit grade`.

Every submission in EXPECTED ends with its status, its score and a message naming the cause,
and the invariants hold for the whole batch: the batch finishes; exactly one record per
submission; the submitted files are unchanged; the course (hidden checks, configuration,
gradebook) is unchanged by the students' code; no process outlives the batch; the correct
submissions keep full marks; and grading a submission again gives the same result.

Files in tests/fixtures/corpus/ are the attacks and broken files; ``build_submissions`` makes
the variants of the reference solution that are easier to write as code.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gpukit.batch.preflight import sandbox_state
from gpukit.config import load_config
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from gpukit.labs import LABS_DIR
from gpukit.notebooks.edits import apply_edits_file
from gpukit.release.release import release_course
from gpukit.untrusted import FORMULA_STARTS, placeholder_id
from tests.conftest import FIXTURES
from tests.test_sanitize import strip_metadata

pytestmark = pytest.mark.slow

FULL = 13  # lab 2's automatic points on a machine without a GPU
KILLED = "Grading stopped the notebook"
DIED = "kernel died while it was graded"
TAMPERED = "code that tampers with the grader"
CHANGED = "checks not graded because the notebook changed the grader"

# Names a student chooses that are not student ids (file names; os.fsdecode of the bytes).
LONG_NAME = "my-lab-submission-" + "final-" * 37  # 240 characters: OSError 36 on records once
NOT_UTF8 = os.fsdecode(b"caf\xe9-latin1")
TERMINAL_ESCAPES = "\x1b[2J\x1b[31mrewritten-terminal"
FORMULA = "=HYPERLINK(\"http:\\\\evil\",\"open me\")"

# student -> (status, score or None when nothing was graded, text the message must contain)
EXPECTED = {
    # Correct work, in the shapes students hand it in.
    "reference-solution": ("graded", FULL, "autograded"),
    "reference-metadata-stripped": ("graded", FULL, "7 answer cells matched by their marker"),
    "nbformat-v3": ("graded", FULL, "autograded"),
    "renamed-notebook": ("graded", FULL, "graded lab2_final_v2.ipynb"),
    "extra-notebooks": ("graded", FULL, "other notebooks ignored: scratch.ipynb"),
    "answer-cells-merged": ("graded", FULL, "1 merged cells split at their marker lines"),
    "answer-cell-split": ("graded", FULL, "1 cells of your own kept"),
    "cells-reordered": ("graded", FULL, "autograded"),
    "duplicated-answer-cell": ("graded", FULL, "duplicated answer cells ignored: gpu_code"),
    "kernelspec-changed": ("graded", FULL, "autograded"),
    "answer-cell-type-changed": ("graded", FULL, "autograded"),
    "test-cell-deleted": ("graded", FULL, "autograded"),
    "locked-cells-edited": ("graded", FULL, "autograded"),
    "sys-exit-in-answer-cell": ("graded", FULL, "autograded"),
    # Harmless to the grader, whatever they intend.
    "prints-score-100": ("graded", FULL, "autograded"),
    "fake-results-files": ("graded", FULL, "autograded"),
    "overwrites-hidden-checks": ("graded", FULL, "autograded"),
    "reads-other-students": ("graded", FULL, "autograded"),
    "network-access": ("graded", FULL, "autograded"),
    "output-flood": ("graded", FULL, "autograded"),
    "fd-level-stderr-flood": ("graded", FULL, "autograded"),
    # Values that lie about themselves: the checks compare plain copies.
    "always-equal-report": ("graded", FULL - 2, "autograded"),
    "float-subclass-size": ("graded", FULL - 3, "autograded"),
    # Tampering with the grading machinery.
    "showtraceback-replaced": ("integrity", 0, TAMPERED),
    "input-transformer-empties-checks": ("integrity", 0, TAMPERED),
    "ast-transformer-drops-checks": ("integrity", 0, TAMPERED),
    "pre-run-cell-hook-reads-tests": ("integrity", 0, TAMPERED),
    "cuda-is-available-patched": ("integrity", 0, TAMPERED),
    "clock-patched": ("integrity", 0, TAMPERED),
    "builtins-patched": ("integrity", 0, TAMPERED),
    "pytest-fail-disabled": ("integrity", 0, CHANGED),
    "grader-check-replaced": ("integrity", 0, "imports gpukit.grading"),
    "fake-pytest-module": ("integrity", 0, TAMPERED),
    "trace-function-set": ("integrity", 0, TAMPERED),
    # Faults: the kernel is stopped, dies, or never ends.
    "fork-bomb": ("error", None, f"{KILLED}: it ran more than 64 processes at once"),
    "memory-bomb": ("error", None, f"{KILLED}: it used"),
    "kernel-kills-itself": ("error", None, DIED),
    "os-exit": ("error", None, DIED),
    "infinite-loop-ignoring-sigint": ("timeout", None, "(limits: 15 s per cell, 30 s per"),
    # Not a gradable notebook: nothing runs.
    "corrupt-json": ("invalid", None, "is not a readable Jupyter notebook"),
    "not-utf8": ("invalid", None, "is not a readable Jupyter notebook"),
    "valid-json-wrong-shape": ("invalid", None, "is not a readable Jupyter notebook"),
    "empty-file": ("invalid", None, "is not a readable Jupyter notebook"),
    "html-saved-as-ipynb": ("invalid", None, "is not a readable Jupyter notebook"),
    "nbformat-v5-future": ("invalid", None, "is not a readable Jupyter notebook"),
    "not-a-notebook": ("invalid", None, "not-a-notebook.py is not a Jupyter notebook (.ipynb)"),
    "missing-notebook": ("invalid", None, "No notebook in missing-notebook/"),
    "several-notebooks-none-named": ("invalid", None, "2 notebooks in"),
    # Hostile names and files (issue 22): each submission invalid or graded, never the batch.
    "link-to-master-notebook": ("invalid", None, "link-to-master-notebook.ipynb is a symbolic"),
    "link-inside-folder": ("invalid", None, "holds a notebook that is a symbolic link"),
    placeholder_id(LONG_NAME): ("invalid", None, "is longer than 128 bytes"),
    placeholder_id(NOT_UTF8): ("invalid", None, "caf\\udce9-latin1 is not valid UTF-8"),
    placeholder_id(TERMINAL_ESCAPES): ("invalid", None, "\\x1b[2J\\x1b[31mrewritten-terminal "
                                                        "holds characters that are not printable"),
    "handed-in-twice": ("invalid", None, "2 submissions for handed-in-twice"),
    FORMULA: ("invalid", None, "is not a Jupyter notebook"),
    "notebook-name-not-utf8": ("graded", FULL, "graded lab\\udcff.ipynb"),
    # Hostile content: it reaches neither the solutions nor the instructor's browser.
    "hunts-for-solutions": ("graded", FULL, "1 cells of your own kept"),
    "script-in-written-answer": ("graded", FULL, "autograded"),
    "hidden-test-marker-in-own-cell": ("graded", FULL, "1 cells of your own kept"),
    # tensor_megabytes (2) raises, and so do measure_allocation (1) and gpu_memory (2) with it
    "huge-error-message": ("graded", FULL - 5, "autograded"),
}
# Checks whose outcome the in-kernel integrity checks must report, beyond the status above.
INTEGRITY_CHECKS = {
    "showtraceback-replaced": "cuda_status",
    "pytest-fail-disabled": "cuda_status",
    "input-transformer-empties-checks": "cuda_status",
    "cuda-is-available-patched": "tensor_megabytes",
}
REGRADED = ["reference-solution", "showtraceback-replaced"]


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def build_submissions(solution, notebook_name: str, into: Path, master: Path) -> None:
    """The corpus entries that are variants of the reference written as code (``master``: the
    instructor's master notebook, which links point to)."""
    def save(name: str, nb) -> None:
        nbformat.write(nb, str(into / f"{name}.ipynb"))

    save("reference-metadata-stripped", strip_metadata(solution))
    v3 = nbformat.convert(copy.deepcopy(solution), 3)
    (into / "nbformat-v3.ipynb").write_text(json.dumps(v3))
    future = json.loads(nbformat.writes(solution))
    future["nbformat"] = 5
    (into / "nbformat-v5-future.ipynb").write_text(json.dumps(future))
    (into / "empty-file.ipynb").write_bytes(b"")
    (into / "html-saved-as-ipynb.ipynb").write_text("<!DOCTYPE html><html><body>lab"
                                                    "</body></html>")
    (into / "not-a-notebook.py").write_text("print('my answers')\n")
    (into / "missing-notebook").mkdir()
    (into / "missing-notebook" / "answers.txt").write_text("see attached\n")
    several = into / "several-notebooks-none-named"
    several.mkdir()
    for name in ("draft.ipynb", "final.ipynb"):
        nbformat.write(solution, str(several / name))
    (into / "renamed-notebook").mkdir()
    nbformat.write(solution, str(into / "renamed-notebook" / "lab2_final_v2.ipynb"))
    extra = into / "extra-notebooks"
    (extra / "work").mkdir(parents=True)
    nbformat.write(solution, str(extra / "work" / notebook_name))
    (extra / "scratch.ipynb").write_text("{ not json")

    merged = copy.deepcopy(solution)
    first, second = _cell(merged, "gpu_code"), _cell(merged, "move_code")
    first.source += "\n\n" + second.source
    merged.cells.remove(second)
    save("answer-cells-merged", merged)

    split = copy.deepcopy(solution)
    cell = _cell(split, "gpu_code")
    head, tail = cell.source.split("print(status)")
    cell.source = head
    split.cells.insert(split.cells.index(cell) + 1,
                       nbformat.v4.new_code_cell("print(status)" + tail))
    save("answer-cell-split", split)

    reordered = copy.deepcopy(solution)
    markdown = [c for c in reordered.cells if c.cell_type == "markdown"
                and not c.metadata.get("nbgrader", {}).get("solution")]
    moved = _cell(reordered, "megabytes_code")  # an answer cell moved to the top, too
    rest = [c for c in reordered.cells if c not in markdown and c is not moved]
    reordered.cells = [moved, *rest, *markdown]
    save("cells-reordered", reordered)

    duplicated = copy.deepcopy(solution)
    answer = _cell(duplicated, "gpu_code")
    copy_of_answer = copy.deepcopy(answer)
    copy_of_answer.source = copy_of_answer.source.replace('"device_count": count',
                                                          '"device_count": count + 7')
    copy_of_answer.id = "gpu-code-copy"
    duplicated.cells.insert(duplicated.cells.index(answer) + 1, copy_of_answer)
    save("duplicated-answer-cell", duplicated)

    kernelspec = copy.deepcopy(solution)
    kernelspec.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    save("kernelspec-changed", kernelspec)

    retyped = copy.deepcopy(solution)
    cell = _cell(retyped, "gpu_code")
    cell.cell_type = "markdown"
    for key in ("outputs", "execution_count"):
        cell.pop(key, None)
    save("answer-cell-type-changed", retyped)

    deleted = copy.deepcopy(solution)
    deleted.cells.remove(_cell(deleted, "cuda_status"))
    save("test-cell-deleted", deleted)

    # Hostile names and files.
    (into / "link-to-master-notebook.ipynb").symlink_to(master)
    (into / "link-inside-folder").mkdir()
    (into / "link-inside-folder" / notebook_name).symlink_to(master)
    for name in (LONG_NAME, NOT_UTF8, TERMINAL_ESCAPES):
        save(name, solution)
    save("handed-in-twice", solution)
    (into / "handed-in-twice").mkdir()
    nbformat.write(solution, str(into / "handed-in-twice" / notebook_name))
    (into / f"{FORMULA}.pdf").write_bytes(b"%PDF-1.7 my answers\n")
    (into / "notebook-name-not-utf8").mkdir()
    nbformat.write(solution, str(into / "notebook-name-not-utf8" / os.fsdecode(b"lab\xff.ipynb")))


def _digest(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _grade(course_root: Path, submissions: Path, output: Path,
           env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpukit", "grade", str(submissions), "--output", str(output),
         "--no-progress", "--assignment", "gpu_basics", "--no-canary"], cwd=course_root,
        capture_output=True, text=True, timeout=3000, env=env)


def _rows(output: Path) -> dict[str, dict]:
    """grades.csv by student id (a cell that would start a formula is written with an
    apostrophe before it: the id is what follows)."""
    with (output / "grades.csv").open(encoding="utf-8") as handle:
        return {_spreadsheet_text(row["student"]): row for row in csv.DictReader(handle)}


def _spreadsheet_text(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


# The corpus is about surviving submissions, not about a lab's subject: it is graded on lab 2,
# the shortest lab (PyTorch only, no training), so that its 48 gradings stay short. The lab tiers
# (tests/test_autograde_*.py) grade every lab's own mistakes.
SHORT_COURSE = """
_lab = next(lab for lab in config.assignments if lab.name == "gpu_basics")
config = dataclasses.replace(config, assignments=[_lab], cell_timeout_s=15,
                             notebook_timeout_s=30, memory_limit_mb=4096)
"""


@pytest.fixture(scope="module")
def batch(released_course, mnist_data_dir, tmp_path_factory):
    # The corpus attacks the kit's own files (the hidden checks): only behind the sandbox's walls.
    if not sandbox_state().startswith("isolation works"):
        message = f"the sandbox is not available here: {sandbox_state()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("corpus")
    course = prepare_demo_course(released_course, work / "course")
    config = course.root / "grading_config.py"
    config.write_text(config.read_text() + SHORT_COURSE)
    course = load_config(config)
    release_course(course, progress=False)
    lab = course.course.assignments[0]
    submissions = work / "submissions"
    submissions.mkdir()
    solution_path = CourseLayout(course.root).solution(lab)
    shutil.copy(solution_path, submissions / "reference-solution.ipynb")
    solution = nbformat.read(str(solution_path), as_version=4)
    build_submissions(solution, solution_path.name, submissions,
                      CourseLayout(course.root).source(lab))
    for path in sorted((FIXTURES / "corpus").iterdir()):
        if path.suffix == ".ipynb":
            shutil.copy(path, submissions / path.name)
        elif path.suffix == ".edits":
            nbformat.write(apply_edits_file(solution, path), str(submissions / f"{path.stem}"
                                                                               ".ipynb"))

    originals = {p: p.read_bytes() for p in submissions.rglob("*")
                 if p.is_file() and not p.is_symlink()}
    course_files = sorted([*LABS_DIR.rglob("checks.py"), config])
    protected = _digest(course_files)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    env = {**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir),
           "GPUKIT_TEST_PORT": str(listener.getsockname()[1])}
    done = _grade(course.root, submissions, work / "out", env)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        connection, _ = listener.accept()
        reached = True
        connection.close()
    except TimeoutError:
        reached = False
    listener.close()

    again = work / "again"
    again.mkdir()
    for student in REGRADED:
        shutil.copy(submissions / f"{student}.ipynb", again)
    regraded = _grade(course.root, again, work / "out-again", env)
    assert regraded.returncode == 0, regraded.stdout + regraded.stderr
    return {"rows": _rows(work / "out"), "out": work / "out", "course": course.root,
            "lab": lab, "submissions": submissions, "originals": originals,
            "protected": protected, "course_files": course_files, "network_reached": reached,
            "regraded": _rows(work / "out-again"), "summary": done.stdout}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_every_submission_ends_with_its_status_score_and_message(batch, student):
    status, score, message = EXPECTED[student]
    row = batch["rows"][student]
    assert row["status"] == status, row["message"]
    assert message in row["message"]
    record = json.loads((batch["out"] / "records" / f"{student}.json").read_text())
    if score is not None:
        assert float(row["score"]) == score, [(c["check"], c["points"], c["message"][:200])
                                              for c in record["checks"]]
    assert record["status"] == status


@pytest.mark.parametrize("student", sorted(INTEGRITY_CHECKS))
def test_the_kernel_reports_tampering_on_the_affected_check(batch, student):
    record = json.loads((batch["out"] / "records" / f"{student}.json").read_text())
    by_check = {c["check"]: c for c in record["checks"]}
    assert by_check[INTEGRITY_CHECKS[student]]["status"] == "integrity"


def test_exactly_one_record_per_submission(batch):
    assert set(batch["rows"]) == set(EXPECTED)
    records = {p.stem for p in (batch["out"] / "records").iterdir()}
    assert records == set(EXPECTED)


def test_submitted_files_are_left_untouched(batch):
    now = {p: p.read_bytes() for p in batch["submissions"].rglob("*")
           if p.is_file() and not p.is_symlink()}
    assert now == batch["originals"]


def test_students_cannot_change_the_course(batch):
    assert _digest(batch["course_files"]) == batch["protected"]
    own = CourseLayout(batch["course"]).autograded("fake-results-files", batch["lab"]).parent
    assert (own / "grades.csv").is_file()  # its own folder is writable ...
    assert not (batch["course"] / "grades.csv").exists()  # ... the course is not


def test_kernels_see_neither_other_students_nor_the_gradebook(batch):
    own = CourseLayout(batch["course"]).autograded("reads-other-students", batch["lab"]).parent
    *notebooks, gradebook = (own / "found.txt").read_text().splitlines()
    assert all("/reads-other-students/" in path for path in notebooks)  # its own, no others
    assert gradebook == "gradebook bytes: None"  # the course is hidden: no gradebook at all


def test_kernels_have_no_network(batch):
    own = CourseLayout(batch["course"]).autograded("network-access", batch["lab"]).parent
    assert (own / "network.txt").read_text().startswith("no network")
    assert not batch["network_reached"]


def test_an_output_flood_is_cut_at_the_cell_limit(batch):
    path = CourseLayout(batch["course"]).autograded("output-flood", batch["lab"])
    assert path.stat().st_size < 3 * 1024 * 1024
    assert "output of this cell past 1024 KB was dropped" in path.read_text()


def test_no_process_outlives_the_batch(batch):
    course = str(batch["course"])
    survivors = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "cwd").startswith(course):
                survivors.append((proc / "cmdline").read_bytes().replace(b"\0", b" "))
        except OSError:  # exited meanwhile, or not ours to read
            continue
    assert survivors == []


@pytest.mark.parametrize("student", REGRADED)
def test_grading_again_gives_the_same_result(batch, student):
    first, second = batch["rows"][student], batch["regraded"][student]
    assert (second["status"], second["score"]) == (first["status"], first["score"])


def test_a_cell_that_raised_is_recorded_with_its_cell(batch):
    """The answer cell ends with sys.exit(3): it scores nothing less (the checks re-run the
    answers), but the record says which cell raised what; the reference's record lists none."""
    def cells(student: str) -> list[tuple]:
        record = json.loads((batch["out"] / "records" / f"{student}.json").read_text())
        return [(c["cell"], c["kind"], c["event"], c["message"]) for c in record["cells"]]

    assert cells("sys-exit-in-answer-cell") == [("gpu_code", "answer", "error",
                                                 "raised SystemExit: 3")]
    assert cells("reference-solution") == []


# ------------------------------------------------------------------ hostile names and content


def test_no_name_reaches_the_terminal_or_the_files_raw(batch):
    """Escape sequences and undecodable bytes in names are shown escaped, never raw."""
    written = [batch["summary"], (batch["out"] / "grades.csv").read_text(encoding="utf-8"),
               *(p.read_text(encoding="utf-8") for p in (batch["out"] / "records").iterdir())]
    assert not any("\x1b" in text or "\udcff" in text for text in written)
    assert all(len(p.name.encode()) < 200 for p in (batch["out"] / "records").iterdir())


def test_no_spreadsheet_cell_starts_a_formula(batch):
    with (batch["out"] / "grades.csv").open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert f"'{FORMULA}" in cells
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


def test_the_kernel_finds_no_solution_anywhere_it_looks(batch):
    own = CourseLayout(batch["course"]).autograded("hunts-for-solutions", batch["lab"]).parent
    searched, *found = (own / "hunt.txt").read_text().splitlines()
    files, places = (int(word) for word in searched.split() if word.isdigit())
    assert files > 0 and places > 3, searched  # it did look
    assert found == []
    feedback = (batch["out"] / "feedback" / "hunts-for-solutions.html").read_text()
    assert "solutions found: []" in feedback


def test_a_feedback_page_runs_nothing_a_student_wrote(batch):
    page = (batch["out"] / "feedback" / "script-in-written-answer.html").read_text()
    head = page[page.index("<head>"):page.index("</head>")]
    assert 'http-equiv="Content-Security-Policy"' in head
    assert "script-src" not in head or "script-src 'none'" in head
    for live in ("<script>document.title", "onerror=", 'href="javascript:', "<iframe"):
        assert live not in page
    assert "returns a moved copy, so keep it" in page  # the answer itself is still shown


def test_nbgraders_markers_in_a_students_cells_change_nothing(batch):
    page = (batch["out"] / "feedback" / "hidden-test-marker-in-own-cell.html").read_text()
    assert "memory_reserved stays" in page  # the written answer, shown whole
    assert "### BEGIN HIDDEN TESTS" in page  # the student's own text, as written


def test_a_huge_message_is_cut_and_stays_strict_json(batch, mnist_data_dir):
    record = batch["out"] / "records" / "huge-error-message.json"
    assert record.stat().st_size < 64 * 1024
    text = record.read_text(encoding="utf-8")
    json.loads(text)
    assert "\\ud" not in text and "more characters cut" in text
    results = batch["out"] / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "gpukit", "export", "--format", "gradescope", "--assignment",
         "gpu_basics", "--grading-output", str(batch["out"]), "--student", "huge-error-message",
         "--output", str(results)], cwd=batch["course"], capture_output=True, text=True,
        env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert results.stat().st_size < 64 * 1024
    assert "\\ud" not in results.read_text(encoding="utf-8")
