"""Visible marker lines that tie a student's answer cell to its grade id.

Google Colab and VS Code drop or ignore nbgrader's cell metadata, and a notebook that lost it
cannot be autograded by stock nbgrader. Every answer cell therefore starts with a marker line
that survives any editor, e.g. ``# gpukit:answer=keras_code (keep this line)``; the grader
matches answer cells by metadata first, then by marker (gpukit/pipeline/rebuild.py).
"""

from __future__ import annotations

import re

MARKER = re.compile(r"gpukit:answer=([A-Za-z0-9_-]{1,64})")
NOTE = "(keep this line: the grader finds your answer by it)"


def code_marker(grade_id: str) -> str:
    return f"# gpukit:answer={grade_id} {NOTE}"


def markdown_marker(grade_id: str) -> str:
    return f"<!-- gpukit:answer={grade_id} {NOTE} -->"


def marked_id(source: str) -> str | None:
    """The grade id named by a marker in the first lines of a cell, if any."""
    for line in source.splitlines()[:3]:  # editors may add a blank line or a heading above
        match = MARKER.search(line)
        if match:
            return match.group(1)
    return None


def strip_marker(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not MARKER.search(line))
