"""Text a student controls, made safe for where the kit writes it.

A student chooses file and folder names (which become ids), the text of every cell, and through
their code every output, error and message a check quotes. The kit writes those into records,
terminals, CSV files and spreadsheets. Every such text goes through one of these functions on its
way out, so no door has to remember the rules:

* :func:`student_id` validates a name once, where a submission is found: a bad id makes that
  submission ``invalid``, never the batch;
* :func:`shown` renders any name for a message or a terminal (escapes, bounded);
* :func:`plain_text` is any other student-controlled text for a record or a JSON file;
* :func:`spreadsheet_cell` is a value for a CSV file a spreadsheet will open.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable

ID_MAX_BYTES = 128  # a record's file name (with its temporary suffix) stays far below 255 bytes
MESSAGE_MAX_CHARS = 2000  # a message, an error or a quoted output in a record
# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets (OWASP's
# list: = + - @, and tab and carriage return, which some of them skip before looking).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps tab and newline


def student_id(name: str) -> tuple[str, str]:
    """The student id a file or folder name stands for, and the problem with it ("" if none).

    ``name`` is a name as the file system gave it (os.fsdecode: bytes that are not UTF-8 are
    lone surrogates). A valid id is UTF-8, printable (no control, format or bidirectional
    characters, no line breaks), NFC-normalized (macOS writes names decomposed: they are the same
    student), without spaces around it and at most ID_MAX_BYTES bytes. A name that is not
    gets :func:`placeholder_id` and the problem in words, for an ``invalid`` record.
    """
    if _LONE_SURROGATE.search(name):
        return placeholder_id(name), f"the name {shown(name)} is not valid UTF-8"
    normal = unicodedata.normalize("NFC", name)
    if not normal.isprintable():
        return placeholder_id(name), (f"the name {shown(name)} holds characters that are not "
                                      "printable (control, format or direction marks)")
    if normal != normal.strip():
        return placeholder_id(name), f"the name {shown(name)} begins or ends with a space"
    if len(normal.encode()) > ID_MAX_BYTES:
        return placeholder_id(name), (f"the name {shown(name)} is longer than {ID_MAX_BYTES} "
                                      "bytes")
    if normal in ("", ".", ".."):
        return placeholder_id(name), f"the name {shown(name)} is not a student id"
    return normal, ""


def placeholder_id(name: str) -> str:
    """A valid id for a name that is not one: its safe characters and a hash of the name, so
    that every bad name gets its own record, the same one each time it is graded."""
    raw = name.encode("utf-8", "surrogateescape")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:40].strip("._") or "unnamed"
    return f"{readable}-{hashlib.sha256(raw).hexdigest()[:8]}"


def shown(name: str, limit: int = 80) -> str:
    """``name`` for a message or a terminal: what is not printable escaped (``\\x1b``,
    ``\\udcff``, ``\\u202e``), at most ``limit`` characters of it."""
    escaped = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
    if len(escaped) > limit:
        escaped = escaped[:limit] + "…"
    return escaped


def plain_text(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """Student-controlled text for a record: no lone surrogates (strict JSON parsers reject
    them), no control characters but tab and newline, at most ``limit`` characters."""
    text = _CONTROL.sub("", _LONE_SURROGATE.sub("\ufffd", text))
    if len(text) > limit:
        text = f"{text[:limit]}… [{len(text) - limit} more characters cut]"
    return text


def spreadsheet_cell(value: object) -> object:
    """A value for a CSV cell that a spreadsheet will open: text that would start a formula is
    prefixed with an apostrophe (shown as text, never evaluated), and carriage returns (which
    split a row in Excel) and other control characters are gone. Numbers pass as they are."""
    if not isinstance(value, str):
        return value
    text = plain_text(value.replace("\r", " "), limit=32_000)  # Excel's limit per cell
    if text.lstrip(" ").startswith(FORMULA_STARTS):  # some spreadsheets skip leading spaces
        return "'" + text
    return text


class SpreadsheetWriter:
    """csv.writer for a file a spreadsheet will open: every cell through
    :func:`spreadsheet_cell`. The kit writes every CSV with it."""

    def __init__(self, out: io.TextIOBase, **format_options: str):
        self._writer = csv.writer(out, **format_options)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow([spreadsheet_cell(value) for value in values])
