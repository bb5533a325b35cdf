"""The course's ``autograder/``: the hidden checks that grade each assignment, written by release.

``gpukit release`` writes, beside ``source/``, ``release/`` and ``solutions/``::

    autograder/
      pytest.ini                  makes autograder/ the rootdir of plain pytest, in any course
      conftest.py                 plain pytest's --notebook option (gpukit/pipeline/plain_pytest.py)
      <assignment>/
        test_<assignment>.py      the lab's checks.py, under a generated banner
        conftest.py               collects that file as checks on an executed notebook
        settings.json             the lab's settings as released: thresholds, points, GPU policy
        README.md                 the check table: grade id, points, what it verifies

Every door of grading reads this folder (the grading kernel through $GPUKIT_AUTOGRADER), and
nothing else of the course's labs or grading_config.py: what the instructor sees is what grades.
Pre-flight compares the folder with :func:`autograder_files` and refuses one that is stale or was
edited by hand (:func:`stale_autograder`), naming the command that writes it again.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from gpukit.config import CONFIG_FILE_NAME, Lab, LoadedConfig
from gpukit.grading.autograder import SETTINGS_FILE, FrozenLab, test_file_name
from gpukit.labs import LABS_DIR

AUTOGRADER_DIR = "autograder"
# Two lines, each within the linters' 100 columns (the tree is linted with the rest).
GENERATED = ("Written by `gpukit release` from {origin}\n"
             "and {config}: change those, then run `gpukit release`; never edit this file.")

TOP_CONFTEST = '''\
"""pytest autograder/ [--notebook PATH]: the course's hidden checks on a notebook.

{generated}
"""

from gpukit.pipeline.plain_pytest import (  # noqa: F401
    pytest_addoption,
    pytest_configure,
    pytest_terminal_summary,
)
'''

PYTEST_INI = '''\
{generated}
# Plain pytest in autograder/ (see conftest.py), whatever the course directory holds.
[pytest]
addopts = -p no:cacheprovider
python_files = test_*.py
'''

LAB_CONFTEST = '''\
"""pytest autograder/{assignment} [--notebook PATH]: execute the notebook (the solution
without --notebook) in a grading kernel and report each hidden check with its points.

{generated}
"""

from gpukit.pipeline.plain_pytest import pytest_pycollect_makemodule  # noqa: F401
'''

TEST_BANNER = '''\
{generated}
# The grading kernel runs each test_<grade id> below on the student's live notebook
# (gpukit/grading/runner.py); `pytest autograder/{assignment} --notebook PATH` runs them all.

'''

README = '''\
# Hidden checks of {assignment}: {title}

{generated}

The lab `{lab_id}`, notebook `{notebook}`, GPU policy `{gpu_policy}`. Run them on a notebook:

```bash
pytest autograder/{assignment} --notebook PATH   # without --notebook: the solution
```

| check (grade id) | points | what it verifies |
|---|---:|---|
{rows}

Automatic points: {automatic:g}. Written answers, graded by hand: {written:g} ({questions}).

Settings (`settings.json`):

{settings}
'''


def frozen_lab(loaded: LoadedConfig, lab: Lab) -> FrozenLab:
    """What settings.json holds: every setting of the lab, its points and the GPU policy."""
    settings = {name: value for name, value in lab.template_params().items()
                if name not in ("name", "points")}
    return FrozenLab(lab.name, lab.lab_id, lab.title, lab.notebook,
                     loaded.course.gpu_policy, settings, lab.points.checks(),
                     lab.points.written())


def autograder_files(loaded: LoadedConfig, lab: Lab) -> dict[str, str]:
    """The files of ``autograder/<assignment>/``, by name, as release writes them."""
    generated = GENERATED.format(origin=_origin(loaded, lab), config=CONFIG_FILE_NAME)
    frozen = frozen_lab(loaded, lab)
    return {
        test_file_name(lab.name): TEST_BANNER.format(generated=_commented(generated),
                                                     assignment=lab.name)
        + lab.checks_file.read_text(),
        "conftest.py": LAB_CONFTEST.format(assignment=lab.name, generated=generated),
        SETTINGS_FILE: json.dumps(frozen.to_json(), indent=1) + "\n",
        "README.md": _readme(lab, frozen, generated),
    }


def top_files() -> dict[str, str]:
    """The files of ``autograder/`` itself."""
    generated = GENERATED.format(origin="the kit (gpukit/release/autograder.py)",
                                 config=CONFIG_FILE_NAME)
    return {"pytest.ini": PYTEST_INI.format(generated=_commented(generated)),
            "conftest.py": TOP_CONFTEST.format(generated=generated)}


def write_autograder(loaded: LoadedConfig, lab: Lab) -> Path:
    """Write ``autograder/<assignment>/`` (and ``autograder/conftest.py``); return the folder."""
    root = loaded.root / AUTOGRADER_DIR
    _write(root, top_files())
    folder = root / lab.name
    _write(folder, autograder_files(loaded, lab))
    return folder


def stale_autograder(loaded: LoadedConfig, lab: Lab) -> list[str]:
    """The files of the assignment's autograder that are missing, or differ from what release
    writes now (a stale release, or an edit by hand), relative to the course."""
    folder = f"{AUTOGRADER_DIR}/{lab.name}"
    expected = {f"{AUTOGRADER_DIR}/{name}": text for name, text in top_files().items()}
    expected.update({f"{folder}/{name}": text
                     for name, text in autograder_files(loaded, lab).items()})
    stale = [name for name, text in expected.items() if _read(loaded.root / name) != text]
    extra = sorted(f"{folder}/{path.name}" for path in (loaded.root / folder).glob("*")
                   if path.is_file() and f"{folder}/{path.name}" not in expected)
    return stale + extra


def _origin(loaded: LoadedConfig, lab: Lab) -> str:
    """Where the checks come from, as the instructor finds it: the course's own lab folder, or
    the kit's (the same words wherever the kit is installed)."""
    if lab.folder.is_relative_to(LABS_DIR):
        return f"the kit's gpukit/labs/{lab.lab_id}/checks.py"
    if lab.checks_file.is_relative_to(loaded.root):
        return lab.checks_file.relative_to(loaded.root).as_posix()
    return f"the lab {lab.lab_id}'s checks.py"  # a lab package imported from outside the course


def _readme(lab: Lab, frozen: FrozenLab, generated: str) -> str:
    helps = {name: _field_help(lab.points, name) for name in frozen.check_points}
    rows = "\n".join(f"| `{name}` | {points:g} | {helps[name]} |"
                     for name, points in frozen.check_points.items())
    settings = "\n".join(f"- `{name}` = `{value!r}`" for name, value in frozen.settings.items())
    return README.format(
        assignment=lab.name, title=lab.title, generated=generated, lab_id=lab.lab_id,
        notebook=lab.notebook, gpu_policy=frozen.gpu_policy, rows=rows,
        automatic=sum(frozen.check_points.values()), written=sum(frozen.written_points.values()),
        questions=", ".join(frozen.written_points) or "none", settings=settings or "(none)")


def _field_help(points: object, name: str) -> str:
    field = next(f for f in dataclasses.fields(points) if f.name == name)
    return " ".join(field.metadata.get("help", "").split()).replace("|", "\\|")


def _commented(text: str) -> str:
    return "\n".join(f"# {line}" for line in text.splitlines())


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        if _read(path) != text:  # unchanged files keep their times (and git stays quiet)
            path.write_text(text)
