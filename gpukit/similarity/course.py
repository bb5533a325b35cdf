"""A graded class as the similarity run reads it: the course's own folders, nothing new.

The submissions are the notebooks `gpukit grade` (or nbgrader's collect) keeps in the course's
``submitted/<student>/<assignment>/``, or a folder of submissions as `gpukit grade` takes it;
the boilerplate is the release in ``release/<assignment>/`` and the course's
``similarity_boilerplate`` files. Every name and every notebook is a student's: an id that is not
a valid one, a link, a file that is not a notebook is skipped with the reason, never the run.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from tqdm import tqdm

from gpukit.batch.submissions import find_submissions
from gpukit.config import Lab, LoadedConfig
from gpukit.course.layout import CourseLayout
from gpukit.errors import GpukitError
from gpukit.similarity.extract import (
    Given,
    Tutorial,
    Work,
    given_material,
    read_notebook,
    student_work,
    tutorial,
)
from gpukit.similarity.pairs import Findings, Settings, find_similar
from gpukit.untrusted import shown, student_id

# A notebook larger than this is not read (a notebook is text; hundreds of MB are outputs).
MAX_NOTEBOOK_BYTES = 200 * 1024 * 1024


class SimilarityError(GpukitError):
    """Nothing to compare, or the release to compare against is missing."""


@dataclass(frozen=True)
class Handed:
    """One student's notebook as found: its path, or why it cannot be read."""

    student: str
    path: Path | None
    problem: str = ""


def settings_of(loaded: LoadedConfig, threshold: float | None = None) -> Settings:
    course = loaded.course
    return Settings(course.similarity_threshold if threshold is None else threshold,
                    course.similarity_common_share)


def submitted_notebooks(loaded: LoadedConfig, lab: Lab) -> list[Handed]:
    """The notebooks of ``lab`` in the course's submitted/ folder, one per student folder."""
    folder = loaded.root / "submitted"
    found = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.name.startswith("."):
            continue
        student, bad = student_id(entry.name)
        notebook = entry / lab.name / lab.notebook
        if bad:
            found.append(Handed(student, None, bad))
        elif any(path.is_symlink() for path in (entry, entry / lab.name, notebook)):
            found.append(Handed(student, None, f"{shown(str(notebook))} is a symbolic link"))
        elif notebook.is_file():
            found.append(Handed(student, notebook))
    return found


def folder_notebooks(folder: Path, lab: Lab) -> list[Handed]:
    """The notebooks of a folder of submissions, found as `gpukit grade` finds them."""
    return [Handed(s.student, s.path, s.problem) for s in find_submissions(folder, lab)]


def release_of(loaded: LoadedConfig, lab: Lab) -> NotebookNode:
    """The notebook students were given: release/<assignment>/, or, in a course that grades
    from its masters alone (gpukit demo's), the master with solutions and hidden tests cleared
    by nbgrader's own preprocessors, as generate_assignment clears them."""
    layout = CourseLayout(loaded.root)
    if layout.release(lab).is_file():
        return read_notebook(layout.release(lab).read_bytes())
    if not layout.source(lab).is_file():
        raise SimilarityError(f"No release of {lab.name} at {layout.release(lab)}: the given "
                              "code to leave out of the comparison is unknown.",
                              hint="Release the course first: gpukit release")
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    master = read_notebook(layout.source(lab).read_bytes())
    for step in (ClearSolutions(), ClearHiddenTests()):
        master, _ = step.preprocess(master, {})
    return master


def tutorials_of(loaded: LoadedConfig) -> tuple[Tutorial, ...]:
    found = []
    for name in loaded.course.similarity_boilerplate:
        path = loaded.root / name
        try:
            found.append(tutorial(name, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise SimilarityError(f"similarity_boilerplate: cannot read {path} ({error}).",
                                  hint="Fix the file name in grading_config.py, relative to "
                                  "it.") from None
    return tuple(found)


def read_works(handed: list[Handed], release, given: Given,
               progress: Callable[[int], None] | None = None
               ) -> tuple[list[Work], list[tuple[str, str]]]:
    """What each student wrote, and the notebooks skipped with why."""
    works, problems = [], []
    for entry in handed:
        if progress:
            progress(1)
        if entry.path is None:
            problems.append((entry.student, entry.problem))
            continue
        try:
            mode = entry.path.lstat()
            if not stat.S_ISREG(mode.st_mode):
                raise ValueError("not a regular file")
            if mode.st_size > MAX_NOTEBOOK_BYTES:
                raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES // 2 ** 20} MB")
            notebook = read_notebook(entry.path.read_bytes())
        except (OSError, ValueError) as error:
            problems.append((entry.student, str(error)))
            continue
        works.append(student_work(entry.student, notebook, release, given))
    return works, problems


def similarity_of(loaded: LoadedConfig, lab: Lab, *, submissions: Path | None = None,
                  threshold: float | None = None, progress: bool = False) -> Findings:
    """The similar pairs of ``lab``'s submissions (the course's submitted/ folder, or the
    folder ``submissions``)."""
    handed = folder_notebooks(submissions, lab) if submissions else \
        submitted_notebooks(loaded, lab)
    if not handed:
        raise SimilarityError(
            f"No submitted notebooks of {lab.name} in {loaded.root / 'submitted'}.",
            hint=f"Grade the class first (gpukit grade SUBMISSIONS --assignment {lab.name} "
            "keeps each notebook there), or pass --submissions FOLDER.")
    release = release_of(loaded, lab)
    given = given_material(release, tutorials_of(loaded))
    with tqdm(total=2 * len(handed), desc=f"similarity {lab.name}", unit="notebook",
              disable=not progress) as bar:
        works, problems = read_works(handed, release, given, bar.update)
        findings = find_similar(lab.name, works, given, settings_of(loaded, threshold),
                                progress=bar.update)
        bar.update(len(handed) - len(works))  # the unreadable ones are not fingerprinted
    findings.problems = problems
    return findings
