"""One small hierarchy of errors, each carrying what went wrong and what to do about it.

The CLI catches :class:`GpukitError` and prints ``str(error)`` without a traceback, so every
message must stand on its own: name the file, field or dataset, and say what the reader can do.
"""

from __future__ import annotations


class GpukitError(Exception):
    """Base class for errors that gpukit reports to an instructor or student."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  What to do: {self.hint}"
        return self.message


class ConfigError(GpukitError):
    """grading_config.py is missing, does not load, or holds an invalid value."""


class DatasetError(GpukitError):
    """A dataset file is missing, corrupt, or could not be downloaded."""


class TemplateError(GpukitError):
    """A lab template failed to render or to parse into a notebook."""


class NbgraderError(GpukitError):
    """An nbgrader step (release, solution, autograde) failed; ``log`` is its whole output."""

    def __init__(self, message: str, *, hint: str | None = None, log: str = ""):
        super().__init__(message, hint=hint)
        self.log = log
