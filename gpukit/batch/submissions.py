"""Finding what each student handed in: one Submission per entry of a submissions folder.

Everything here is a name or a file a student chose, so the rules are strict and said once:

* a submission is a regular file ``<student>.ipynb`` or a folder ``<student>/`` inside the
  folder; a symbolic link (to the instructor's master notebook, say: one commit away in a
  repository a student submits from), a device or a pipe is ``invalid``, and so is a folder
  whose notebook is a link;
* the id is validated once (gpukit/untrusted.py: UTF-8, printable, NFC, bounded); a bad name
  makes its submission ``invalid`` under a placeholder id, never the batch;
* two entries for one id (``alice.ipynb`` beside ``alice/``, or the same name composed and
  decomposed) make that id ``invalid``: which one to grade is the instructor's call;
* nothing is skipped silently: a folder without a notebook, a folder with several notebooks none
  of which has the lab's name, a file that is not a notebook: each is a Submission with a problem.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from gpukit.config import Lab
from gpukit.errors import GpukitError
from gpukit.untrusted import shown, student_id

IGNORED_PREFIXES = (".", "__MACOSX")  # hidden files, macOS's zip debris
CHECKPOINTS = ".ipynb_checkpoints"


@dataclass(frozen=True)
class Submission:
    """What one student handed in, and which notebook (if any) will be graded."""

    student: str
    path: Path | None    # the notebook to grade; None when there is none
    problem: str = ""    # why nothing can be graded (status invalid)
    note: str = ""       # a choice the grader made (a renamed notebook, notebooks ignored)
    entry: str = ""      # what was handed in, as a message shows its name


def find_submissions(directory: Path, lab: Lab) -> list[Submission]:
    """One Submission per student id found in ``directory``, in the order of the ids."""
    if not directory.is_dir():
        raise GpukitError(f"{directory} is not a directory of submissions.",
                          hint="Pass a folder holding <student>.ipynb files or <student>/ "
                          "folders with the notebook inside.")
    by_id: dict[str, list[Submission]] = defaultdict(list)
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(IGNORED_PREFIXES):
            continue
        submission = _entry_submission(entry, lab.notebook)
        by_id[submission.student].append(submission)
    if not by_id:
        raise GpukitError(f"No submissions in {directory}.",
                          hint="Put one <student>.ipynb per student, or <student>/ folders.")
    return [entries[0] if len(entries) == 1 else _handed_in_twice(student, entries)
            for student, entries in sorted(by_id.items())]


def _entry_submission(entry: Path, expected: str) -> Submission:
    submission = _judge_entry(entry, expected)
    return dataclasses.replace(submission, entry=shown(entry.name))


def _judge_entry(entry: Path, expected: str) -> Submission:
    mode = entry.lstat().st_mode
    student, bad_name = student_id(entry.name if stat.S_ISDIR(mode) else entry.stem)
    if bad_name:
        return Submission(student, None, f"{bad_name}: rename it to the student's id and "
                          "grade it again.")
    if stat.S_ISLNK(mode):
        return Submission(student, None, f"{shown(entry.name)} is a symbolic link, not a "
                          f"file: submit the notebook {expected} itself.")
    if stat.S_ISDIR(mode):
        return _folder_submission(entry, student, expected)
    if not stat.S_ISREG(mode):
        return Submission(student, None, f"{shown(entry.name)} is not a regular file: submit "
                          f"the notebook {expected} itself.")
    if entry.suffix != ".ipynb":
        return Submission(student, None, f"{shown(entry.name)} is not a Jupyter notebook "
                          f"(.ipynb): submit the notebook file {expected} itself.")
    return Submission(student, entry)


def _folder_submission(folder: Path, student: str, expected: str) -> Submission:
    links, notebooks = [], []
    for path in _notebooks_in(folder):
        (links if path.is_symlink() or not path.is_file() else notebooks).append(path)
    where = f"{shown(folder.name)}/"
    if links:
        return Submission(student, None, f"{where} holds a notebook that is a symbolic link or "
                          f"not a regular file ({shown(links[0].name)}): submit the notebook "
                          f"{expected} itself.")
    notebooks.sort(key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    named = [p for p in notebooks if p.name == expected]
    if named:
        others = [shown(p.name) for p in notebooks if p != named[0]]
        note = f"other notebooks ignored: {', '.join(others)}" if others else ""
        return Submission(student, named[0], note=note)
    if len(notebooks) == 1:
        return Submission(student, notebooks[0], note=f"graded {shown(notebooks[0].name)} "
                          f"(the lab's notebook is {expected})")
    if not notebooks:
        return Submission(student, None, f"No notebook in {where}: submit {expected}.")
    return Submission(student, None, f"{len(notebooks)} notebooks in {where} and none is named "
                      f"{expected}: name the one to grade {expected}.")


def _notebooks_in(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` entry under ``folder``, links included, without following links to
    folders (a link to the course would otherwise be searched) and without checkpoints."""
    found = []
    for parent, folders, files in os.walk(folder, followlinks=False):
        folders[:] = [name for name in folders if name != CHECKPOINTS]
        found += [Path(parent) / name for name in files if name.endswith(".ipynb")]
        # os.walk lists links to folders among the folders: one named *.ipynb counts too
        found += [Path(parent) / name for name in folders
                  if name.endswith(".ipynb") and (Path(parent) / name).is_symlink()]
    return found


def _handed_in_twice(student: str, entries: list[Submission]) -> Submission:
    names = ", ".join(e.entry for e in entries)
    return Submission(student, None, f"{len(entries)} submissions for {shown(student)} ({names}): "
                      "keep one of them and grade it again.")
