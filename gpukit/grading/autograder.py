"""One assignment's folder of the course's ``autograder/``, as the grading kernel reads it.

``gpukit release`` writes ``autograder/<assignment>/`` (gpukit/release/autograder.py): the hidden
checks as ``test_<assignment>.py`` and the lab's settings, frozen, in ``settings.json``. A grading
kernel finds the folder through ``$GPUKIT_AUTOGRADER`` and reads nothing else of the course: not
``grading_config.py``, not the labs' packages. What the instructor sees there is what grades.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTOGRADER_VARIABLE = "GPUKIT_AUTOGRADER"  # the course's autograder/, set for grading kernels
SETTINGS_FILE = "settings.json"


class AutograderMissing(Exception):
    """The assignment's autograder folder or one of its files is not where it must be."""


def test_file_name(assignment: str) -> str:
    return f"test_{assignment}.py"


@dataclass(frozen=True)
class FrozenLab:
    """A lab's settings as released: the ``lab`` fixture of the hidden checks.

    Every setting of the lab reads as an attribute (``lab.accuracy_threshold``); nothing can be
    changed. The assignment, the lab, the course's GPU policy and the points come with them."""

    assignment: str
    lab_id: str
    title: str
    notebook: str
    gpu_policy: str
    settings: Mapping[str, Any]
    check_points: Mapping[str, float]    # by grade id, in notebook order
    written_points: Mapping[str, float]

    def __getattr__(self, name: str) -> Any:
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(f"The lab {self.__dict__.get('lab_id')!r} has no setting {name!r} "
                             f"(its settings: {', '.join(settings)}).")

    @property
    def name(self) -> str:
        return self.assignment

    def to_json(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "lab_id": self.lab_id, "title": self.title,
                "notebook": self.notebook, "gpu_policy": self.gpu_policy,
                "settings": dict(self.settings),
                "points": {"checks": dict(self.check_points),
                           "written": dict(self.written_points)}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FrozenLab:
        points = data["points"]
        return cls(data["assignment"], data["lab_id"], data["title"], data["notebook"],
                   data["gpu_policy"], dict(data["settings"]), dict(points["checks"]),
                   dict(points["written"]))


@dataclass(frozen=True)
class Autograder:
    """``autograder/<assignment>/``: where its checks are, and its lab's frozen settings."""

    folder: Path
    lab: FrozenLab

    @property
    def test_file(self) -> Path:
        return self.folder / test_file_name(self.lab.assignment)

    @classmethod
    def load(cls, folder: Path) -> Autograder:
        settings = folder / SETTINGS_FILE
        try:
            lab = FrozenLab.from_json(json.loads(settings.read_text()))
        except FileNotFoundError:
            raise AutograderMissing(f"{settings} is missing") from None
        except (ValueError, KeyError, TypeError) as error:
            raise AutograderMissing(f"{settings} is not the settings gpukit release writes "
                                    f"({type(error).__name__}: {error})") from None
        found = cls(folder, lab)
        if not found.test_file.is_file():
            raise AutograderMissing(f"{found.test_file} is missing")
        return found

    @classmethod
    def of(cls, assignment: str) -> Autograder:
        """The assignment's folder in the autograder/ the grading kernel was given."""
        root = os.environ.get(AUTOGRADER_VARIABLE)
        if not root:
            raise AutograderMissing(f"${AUTOGRADER_VARIABLE} is not set in this kernel")
        return cls.load(Path(root) / assignment)
