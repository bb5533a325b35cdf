"""Text a student controls, on its way into terminals, records and spreadsheets."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gpukit.batch.records import CellRecord, CheckRecord, SubmissionRecord
from gpukit.untrusted import (
    MESSAGE_MAX_CHARS,
    SpreadsheetWriter,
    plain_text,
    shown,
    spreadsheet_cell,
    student_id,
)


@pytest.mark.parametrize("value, cell", [
    ("=1+2", "'=1+2"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "' =1"),
    ("alice", "alice"),
    ("a=b", "a=b"),
    (13.0, 13.0),
])
def test_spreadsheet_cells_never_start_a_formula(value, cell):
    assert spreadsheet_cell(value) == cell


def test_a_carriage_return_cannot_split_a_row():
    out = io.StringIO(newline="")
    writer = SpreadsheetWriter(out, lineterminator="\n")
    writer.writerow(["bob\rinjected,=1+2", "ok"])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["bob injected,=1+2", "ok"]]
    assert "\r" not in out.getvalue()


def test_plain_text_is_valid_json_text_and_bounded():
    text = plain_text("\udcff" + "\x1b[2J" + "lost " * 200_000)
    assert text.startswith("\ufffd[2Jlost")
    assert len(text) < MESSAGE_MAX_CHARS + 100 and "more characters cut" in text
    text.encode("utf-8")  # no lone surrogate left
    assert plain_text("line one\n\tline two") == "line one\n\tline two"


def test_a_record_is_written_clean():
    hostile = "\udcff" + "x" * 1_000_000
    record = SubmissionRecord(
        "alice", "lab", "graded", hostile,
        checks=[CheckRecord("c", 0, 1, "error", hostile)],
        cells=[CellRecord("own", "own", "error", 1.0, hostile)]).cleaned()
    text = record.to_json()
    assert len(text) < 10_000 and "\\ud" not in text
    assert json.loads(text)["checks"][0]["message"].startswith("\ufffdxxx")


def test_names_are_shown_escaped_and_bounded():
    assert shown("\x1b[31mred") == "\\x1b[31mred"
    assert shown("a" * 200).endswith("…") and len(shown("a" * 200)) == 81
    assert student_id("Zoë Müller") == ("Zoë Müller", "")
