"""Gradescope: results.json per submission, and the autograder zip that grades with gpukit.

results.json follows Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): a ``score``, and ``tests``,
each with ``name``, ``score``, ``max_score``, ``status``, ``output`` and ``visibility``. A check
becomes a test; its output is the sentence gpukit shows the student anyway (never the check's
code). Written answers appear once graded by hand; those still waiting are left to Gradescope's
manual grading.

The autograder zip holds ``setup.sh`` and ``run_autograder`` at its root, as Gradescope
requires, with a copy of the kit and of the course's grading side of the assignment (its master
notebook, its autograder/ folder of hidden checks, and configuration: Gradescope keeps the zip
on its side, students never see it). ``run_autograder`` moves that course to a scratch folder
(the grading kernel sees nothing of the course it grades: no copy may stay at a known path),
grades
/autograder/submission there with `gpukit grade` and writes
/autograder/results/results.json with `gpukit export --format gradescope --student`.

The zip leaves the instructor's machine, so its configuration is a snapshot of the course's
settings for the one assignment (as grading jobs get, gpukit/batch/job.py), not the
instructor's grading_config.py: no path of the instructor's machine (the data directory is the
zip's own) and no gradebook address, which can hold a database password.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import gpukit
from gpukit.config import CONFIG_FILE_NAME, Lab, LoadedConfig, python_source
from gpukit.course.layout import COURSE_LABS, CourseLayout
from gpukit.release.autograder import AUTOGRADER_DIR, stale_autograder, top_files
from gpukit.reports.classbook import ClassResults, StudentResult
from gpukit.reports.exports import ExportError

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
STUDENT_IN_SUBMISSION = "student"  # the one student of a Gradescope run
# The zip's data directory (source/data, where setup.sh fetches the datasets), as a data_dir is
# written: relative to the zip's course/grading_config.py. run_autograder, which moves course/
# to a scratch folder to grade there, names the same folder in GPUKIT_DATA_DIR, which takes
# precedence.
ZIP_DATA_DIR = "../data"
AUTOGRADER_CONFIG = '''\
# The course's settings for {assignment}, written by `gpukit gradescope-autograder`
# (gpukit/reports/gradescope.py). Do not edit: build the zip again instead.
{course}'''


def results_json(results: ClassResults, student: str, visibility: str = "visible") -> dict:
    if visibility not in VISIBILITIES:
        raise ExportError(f"Gradescope visibility is one of {', '.join(VISIBILITIES)}, "
                          f"not {visibility!r}.")
    found = next((s for s in results.students if s.student == student), None)
    if found is None:
        raise ExportError(f"No submission of {student!r} in {results.assignment}.",
                          hint="Grade it first, or name a student from grades.csv.")
    if found.status == "environment":
        raise ExportError(f"{student}: the grading environment failed ({found.message}); "
                          "no score is given for the grader's fault.",
                          hint="Fix the environment and grade again.")
    tests = [_test(found, item.name, item.max_points, visibility)
             for item in results.items
             if item.name in found.scores and not found.scores[item.name].needs_manual]
    return {"score": found.total if found.scores else 0.0,
            "output": f"{results.assignment}: {found.status}. {found.message}".strip(),
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def _test(student: StudentResult, name: str, max_points: float, visibility: str) -> dict:
    points = student.points(name) or 0.0
    message = ""
    if student.record is not None:
        message = next((c.message for c in student.record.checks if c.check == name), "")
    return {"name": name, "score": points, "max_score": max_points,
            "status": "passed" if points >= max_points else "failed",
            "output": message, "visibility": visibility}


def write_results(results: ClassResults, folder: Path, visibility: str) -> list[Path]:
    """One results.json per scored submission: <folder>/<student>/results.json."""
    written = []
    for student in results.students:
        if student.status == "environment":
            continue  # listed by `gpukit report` for regrading; no score for the grader's fault
        path = folder / student.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results_json(results, student.student, visibility),
                                   indent=2), encoding="utf-8")
        written.append(path)
    return written


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
cd /autograder/source
python3 -m pip install --quiet --upgrade pip
python3 -m pip install --quiet ./kit/student ./kit
{fetch}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission with gpukit and write
# /autograder/results/results.json. A failure of the grader itself (data, kernel, configuration)
# writes no results, so Gradescope reports an autograder error instead of a zero.
set -euo pipefail
ROOT="${{GPUKIT_GRADESCOPE_ROOT:-/autograder}}"
export GPUKIT_DATA_DIR="${{GPUKIT_DATA_DIR:-$ROOT/source/data}}"
PYTHON="${{PYTHON:-python3}}"
work="$(mktemp -d)"
# Moved, not copied: the course holds the master notebook, and the grading kernel sees nothing
# of the course it grades, but would see a copy left at a known path. Gradescope runs every
# submission in a fresh container made from the zip.
if [ ! -d "$ROOT/source/course" ]; then
    echo "run_autograder: $ROOT/source/course is gone: it runs once per container." >&2
    exit 1
fi
mv "$ROOT/source/course" "$work/course"
mkdir -p "$work/submissions/{student}" "$ROOT/results"
# -R --no-dereference: a symbolic link the student handed in is copied as a link, never
# followed (it could name any file of the grading machine).
cp -R --no-dereference "$ROOT/submission/." "$work/submissions/{student}/"
cd "$work/course"
"$PYTHON" -m gpukit grade "$work/submissions" --assignment {assignment} --output "$work/out" \\
    --no-progress --no-canary --workers 1
"$PYTHON" -m gpukit export --format gradescope --assignment {assignment} \\
    --grading-output "$work/out" --student {student} --visibility {visibility} \\
    --output "$ROOT/results/results.json"
"""


def build_autograder(loaded: LoadedConfig, lab: Lab, destination: Path,
                     visibility: str = "visible") -> Path:
    """Write the Gradescope autograder zip of ``lab`` to ``destination``."""
    if visibility not in VISIBILITIES:
        raise ExportError(f"Gradescope visibility is one of {', '.join(VISIBILITIES)}, "
                          f"not {visibility!r}.")
    kit = _kit_checkout()
    stale = stale_autograder(loaded, lab)
    if stale:
        raise ExportError(f"The checks that grade {lab.name} are not what `gpukit release` writes "
                          f"now ({', '.join(stale)}): the zip would grade with them.",
                          hint="Run `gpukit release` first.")
    source = loaded.root / "source" / lab.name
    if not source.is_dir():
        raise ExportError(f"{source} does not exist.",
                          hint="Release the course first: gpukit release")
    fetch = "\n".join(f"python3 -m gpukit data fetch {name} --data-dir /autograder/source/data "
                      "--no-progress" for name in lab.datasets)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        (tree / "course" / "source").mkdir(parents=True)
        settings = dataclasses.replace(loaded.course, data_dir=ZIP_DATA_DIR, assignments=[lab],
                                       gradebook_url="")
        (tree / "course" / CONFIG_FILE_NAME).write_text(AUTOGRADER_CONFIG.format(
            assignment=lab.name, course=python_source(settings)))
        shutil.copytree(source, tree / "course" / "source" / lab.name)
        checks = CourseLayout(loaded.root).autograder
        shutil.copytree(checks / lab.name, tree / "course" / AUTOGRADER_DIR / lab.name,
                        ignore=_IGNORED)
        for name in top_files():
            shutil.copy(checks / name, tree / "course" / AUTOGRADER_DIR / name)
        if not lab.folder.is_relative_to(kit / "gpukit"):  # the course's own lab
            shutil.copytree(lab.folder, tree / "course" / COURSE_LABS / lab.lab_id,
                            ignore=_IGNORED)
        shutil.copytree(kit / "gpukit", tree / "kit" / "gpukit", ignore=_IGNORED)
        shutil.copytree(kit / "student", tree / "kit" / "student", ignore=_IGNORED)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(kit / name, tree / "kit" / name)
        _script(tree / "setup.sh", SETUP_SH.format(fetch=fetch))
        _script(tree / "run_autograder", RUN_AUTOGRADER.format(
            student=STUDENT_IN_SUBMISSION, assignment=lab.name, visibility=visibility))
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(tree.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo.from_file(path, str(path.relative_to(tree)))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return destination


_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _kit_checkout() -> Path:
    """The source checkout gpukit runs from (the README installs it from one)."""
    root = Path(gpukit.__file__).resolve().parent.parent
    if not ((root / "pyproject.toml").is_file() and (root / "student").is_dir()):
        raise ExportError(f"gpukit at {root} is not a source checkout, which the autograder "
                          "zip copies.", hint="Run this from the gpukit repository's install "
                          "(./scripts/demo or pip install -e .).")
    return root
