"""The errors a student (or the grader) can meet in the runtime, each saying what to do.

The instructor kit's own errors (gpukit.errors) derive from :class:`GpukitError` too, so one
``except GpukitError`` catches both, and every message prints the same way.
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


class DatasetError(GpukitError):
    """A dataset file is missing, corrupt, or could not be downloaded."""
