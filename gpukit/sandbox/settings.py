"""The sandbox's settings, handed from nbgrader's configuration to the kernel launcher.

nbgrader starts the kernel; gpukit does not. The settings therefore travel in environment
variables that the kernel inherits: the course's in one, written by
nbgrader_settings.configure(), and a batch's extra walls (:class:`Walls`, a value passed from
`gpukit grade` to each job) in two more, set only for the job's nbgrader process.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

VARIABLE = "GPUKIT_SANDBOX"
# Extra read-only paths for the kernels of one `gpukit grade` run: the submissions and outputs,
# and a grading job's template course.
PROTECT_VARIABLE = "GPUKIT_SANDBOX_PROTECT"
# Extra hidden paths: the folder of the grading jobs that run beside this one.
HIDE_VARIABLE = "GPUKIT_SANDBOX_HIDE"


@dataclass(frozen=True)
class Walls:
    """Extra walls for the kernels of one grading batch, beyond the course's own: paths they
    see read-only and paths they see empty."""

    protected: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    def around_job(self, template: Path, jobs_folder: Path) -> Walls:
        """These walls, plus a job's: its template course read-only (every job grades with
        it), the folder of the jobs beside it hidden (other students' notebooks)."""
        return Walls((*self.protected, str(template)), (*self.hidden, str(jobs_folder)))

    def environment(self) -> dict[str, str]:
        return {PROTECT_VARIABLE: os.pathsep.join(self.protected),
                HIDE_VARIABLE: os.pathsep.join(self.hidden)}


NO_WALLS = Walls()  # a job graded outside a batch: only its own walls


@dataclass(frozen=True)
class SandboxSettings:
    memory_limit_mb: int = 6144
    process_limit: int = 64
    isolate: bool = True
    course_root: str = ""
    # Read-only inside the kernel (the course root is always among them).
    read_only: list[str] = field(default_factory=list)
    # Directories the kernel sees empty and files it sees as /dev/null (other students' work,
    # the gradebook); the kernel's own working directory is put back, writable.
    hidden: list[str] = field(default_factory=list)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> SandboxSettings:
        raw = os.environ.get(VARIABLE)
        settings = cls(**json.loads(raw)) if raw else cls(isolate=False)
        extra = [p for p in os.environ.get(PROTECT_VARIABLE, "").split(os.pathsep) if p]
        hide = [p for p in os.environ.get(HIDE_VARIABLE, "").split(os.pathsep) if p]
        if extra or hide:
            settings = cls(**{**asdict(settings), "read_only": [*settings.read_only, *extra],
                              "hidden": [*settings.hidden, *hide]})
        return settings
