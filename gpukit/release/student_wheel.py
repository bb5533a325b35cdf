"""Build the student runtime into a wheel that is the same, byte for byte, on every build.

The wheel is what a student installs besides the notebook: `gpukit release` writes it into
``source/<assignment>/`` of every lab whose notebook imports ``gpukit_student``, and nbgrader
copies it into ``release/`` (and, at autograde, back over any copy a student hands in).

It is built from the runtime *installed beside this kit* (the package the grading kernels import,
and its installed metadata), so students get exactly the code the grader runs with and nothing
else: the package's Python files and four metadata files. The committed ``release/`` must be
reproducible, so this writes the archive itself instead of calling a build backend (whose output
carries build times and the backend's version): entries sorted, fixed times and permissions,
stored without compression (deflate output may differ between zlib builds).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import gpukit_student

DISTRIBUTION = "gpukit-student"
PACKAGE = "gpukit_student"
IMPORT_LINES = (f"import {PACKAGE}", f"from {PACKAGE}")
# Every entry gets the same time (the earliest a zip file can hold) and plain file permissions.
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)
_ENTRY_MODE = (stat.S_IFREG | 0o644) << 16


@dataclass(frozen=True)
class StudentWheel:
    """The wheel's file name and bytes."""

    filename: str
    content: bytes

    def write_into(self, folder: Path) -> Path:
        """Write the wheel into ``folder``, replacing other versions of it found there."""
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{PACKAGE}-*.whl"):
            if old.name != self.filename:
                old.unlink()
        path = folder / self.filename
        if not path.is_file() or path.read_bytes() != self.content:
            path.write_bytes(self.content)
        return path


def student_wheel_filename() -> str:
    """The wheel's file name (what the notebooks' install instructions name)."""
    return f"{PACKAGE}-{importlib.metadata.version(DISTRIBUTION)}-py3-none-any.whl"


def build_student_wheel() -> StudentWheel:
    """The installed student runtime as a ``py3-none-any`` wheel."""
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    version = distribution.version
    dist_info = f"{PACKAGE}-{version}.dist-info"
    files = {f"{PACKAGE}/{path}": data for path, data in _package_files().items()}
    files[f"{dist_info}/METADATA"] = _metadata(distribution).encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: gpukit release\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    entry_points = _entry_points(distribution)
    if entry_points:
        files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = f"{dist_info}/RECORD"
    files[record] = "".join(f"{name},sha256={_digest(data)},{len(data)}\n"
                            for name, data in sorted(files.items())).encode() \
        + f"{record},,\n".encode()
    return StudentWheel(student_wheel_filename(), _zip(files))


def imports_student_runtime(code_cells: list[str]) -> bool:
    """Whether any of these code cells imports the runtime (then the release needs the wheel)."""
    return any(line.strip().startswith(IMPORT_LINES)
               for source in code_cells for line in source.splitlines())


def _package_files() -> dict[str, bytes]:
    """The runtime's Python files, by path inside the package (no caches, no other files)."""
    root = Path(gpukit_student.__file__).parent
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*.py")) if "__pycache__" not in path.parts}


def _metadata(distribution: importlib.metadata.Distribution) -> str:
    # Only the fields pip uses and a student reads: what the build backend adds besides (its
    # own version, license texts) would make the bytes depend on the backend installed.
    meta = distribution.metadata
    lines = ["Metadata-Version: 2.1", f"Name: {meta['Name']}", f"Version: {meta['Version']}",
             f"Summary: {meta['Summary']}", f"Requires-Python: {meta['Requires-Python']}"]
    lines += [f"Provides-Extra: {extra}" for extra in sorted(meta.get_all("Provides-Extra") or [])]
    lines += [f"Requires-Dist: {requirement}"
              for requirement in sorted(meta.get_all("Requires-Dist") or [])]
    description = (meta.get_payload() or "").strip()
    if description:
        lines.append("Description-Content-Type: text/markdown")
        return "\n".join(lines) + "\n\n" + description + "\n"
    return "\n".join(lines) + "\n"


def _entry_points(distribution: importlib.metadata.Distribution) -> str:
    scripts = sorted((entry.name, entry.value) for entry in distribution.entry_points
                     if entry.group == "console_scripts")
    if not scripts:
        return ""
    return "[console_scripts]\n" + "".join(f"{name} = {value}\n" for name, value in scripts)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=_ENTRY_TIME)
            info.external_attr = _ENTRY_MODE
            info.create_system = 3  # Unix, so that the permissions above are read
            archive.writestr(info, data)
    return buffer.getvalue()
