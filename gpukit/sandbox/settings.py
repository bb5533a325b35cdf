"""The sandbox's settings, handed from nbgrader's configuration to the kernel launcher.

nbgrader starts the kernel; gpukit does not. The settings therefore travel in environment
variables that the kernel inherits: the course's in one, written by
nbgrader_settings.configure(), and a batch's extra walls (:class:`Walls`, a value passed from
`gpukit grade` to each job) in another, set only for the job's nbgrader process.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

VARIABLE = "GPUKIT_SANDBOX"
# Extra hidden paths for the kernels of one `gpukit grade` run: the course it grades for, the
# submissions and outputs, the jobs' template course and the folder of the jobs beside this one.
HIDE_VARIABLE = "GPUKIT_SANDBOX_HIDE"


@dataclass(frozen=True)
class Walls:
    """Extra walls for the kernels of one grading batch, beyond the course's own: paths they
    see empty (what a kernel needs inside them is put back by the course's own settings)."""

    hidden: tuple[str, ...] = ()

    def around_job(self, template: Path, jobs_folder: Path) -> Walls:
        """These walls, plus a job's: its template course (the assignment's gradebook and
        source) and the folder of the jobs beside it (other students' notebooks) hidden."""
        return Walls((*self.hidden, str(template), str(jobs_folder)))

    def environment(self) -> dict[str, str]:
        return {HIDE_VARIABLE: os.pathsep.join(self.hidden)}


NO_WALLS = Walls()  # a job graded outside a batch: only its own walls


@dataclass(frozen=True)
class SandboxSettings:
    memory_limit_mb: int = 6144
    process_limit: int = 64
    isolate: bool = True
    # Read-only inside the kernel (the data, the grader's Python environment).
    read_only: list[str] = field(default_factory=list)
    # Directories the kernel sees empty and files it sees as /dev/null: the whole course, and
    # the labs' instructor-only files; the kernel's own working directory is put back, writable.
    hidden: list[str] = field(default_factory=list)
    # What the checks need inside hidden directories, put back read-only (an allow-list).
    shown: list[str] = field(default_factory=list)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> SandboxSettings:
        raw = os.environ.get(VARIABLE)
        settings = cls(**json.loads(raw)) if raw else cls(isolate=False)
        hide = [p for p in os.environ.get(HIDE_VARIABLE, "").split(os.pathsep) if p]
        if hide:
            settings = cls(**{**asdict(settings), "hidden": [*settings.hidden, *hide]})
        return settings
