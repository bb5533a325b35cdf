"""The ``gpukit-sandbox`` kernelspec nbgrader starts grading kernels with.

It lives in the course (``.gpukit/kernels/``), found through JUPYTER_PATH, so no
``jupyter kernelspec install`` step is needed and the command is this environment's Python.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "gpukit-sandbox"


def install(course_root: Path) -> Path:
    """Write the kernelspec under the course (only when it changed); return its data dir."""
    data_dir = course_root / ".gpukit"
    spec = {
        # -P: `python -m` would put the working directory (the submission's folder) first on
        # sys.path, so a `gpukit/` or `gpukit_student/` folder handed in there would be imported
        # as the grader. The kernel adds it back for the notebook once the grader is loaded.
        "argv": [sys.executable, "-P", "-m", "gpukit.sandbox.kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (gpukit grading sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    path = data_dir / "kernels" / KERNEL_NAME / "kernel.json"
    text = json.dumps(spec, indent=1)
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    paths = [str(data_dir), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    return data_dir
