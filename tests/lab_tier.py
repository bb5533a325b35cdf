"""The end-to-end tests every lab's sample class gets, graded once by the real `gpukit grade`.

A lab states its expectations as tables in its folder's ``fixtures/expected.py``: FULL (the
points of every autograded check), EXPECTED (the points every sample submission must get: the
reference solution, the untouched release, the lab's demo class and its fixtures, each an edit
of the solution named for what it exercises), MESSAGES (what the student reads for a failed
check), and optionally SETTINGS (a shorter variant of the lab), STATUS and INTEGRITY_MESSAGES
(submissions held for review), GPU_ONLY, WRITTEN, FEEDBACK and SUMMARY. test_lab_tiers.py makes
one :class:`LabTier` per kit lab; the tests here check the tables against what real nbgrader,
real kernels and the lab's hidden checks did.
"""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType
from typing import ClassVar

import pytest
import torch

from gpukit.course.layout import CourseLayout
from gpukit.demo.sample_class import expected_points

# Text of the hidden machinery that feedback must never show.
HIDDEN_TEXT = ("HIDDEN TESTS", "import check", "check(&quot;", "observe_training",
               "SIMULATED_DEVICE")


@pytest.mark.slow
class LabTier:
    lab_id: ClassVar[str]
    expected: ClassVar[ModuleType]  # the lab's fixtures/expected.py

    @classmethod
    def table(cls, name: str, default=None):
        return getattr(cls.expected, name, default)

    @classmethod
    def pytest_generate_tests(cls, metafunc: pytest.Metafunc) -> None:
        tables = {"check": "MESSAGES", "held": "INTEGRITY_MESSAGES"}
        for argument, table in tables.items():
            if "student" in metafunc.fixturenames and argument in metafunc.fixturenames:
                metafunc.parametrize(("student", argument), sorted(cls.table(table)))
                return
        if "student" in metafunc.fixturenames:
            metafunc.parametrize("student", sorted(cls.expected.EXPECTED))

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, sample_class) -> dict:
        """All sample submissions of the lab, graded once by `gpukit grade` as a subprocess."""
        return sample_class(cls.lab_id)

    def edits(self, graded) -> list:
        """The lab's sample submissions written as edits of the solution (fixtures and demo)."""
        folder = graded["lab"].folder
        return sorted([*(folder / "fixtures").glob("*.edits"), *(folder / "demo").glob("*.edits")])

    def test_every_check_fails_on_some_sample_submission(self, graded):
        names = {p.stem for p in self.edits(graded)}
        gpu_only = self.table("GPU_ONLY", set())
        for check in set(self.expected.FULL) - gpu_only:  # no CPU submission can fail those
            assert any(self.expected.EXPECTED[name][check] == 0 for name in names), check

    def test_sample_submissions_say_what_they_exercise(self, graded):
        for path in self.edits(graded):
            assert path.read_text().startswith("# "), path.name

    def test_full_marks_are_the_labs_points(self, graded):
        assert self.expected.FULL == graded["lab"].points.checks()

    def test_each_check_scores_as_expected(self, graded, student):
        row = graded["rows"][student]
        assert row["status"] == self.table("STATUS", {}).get(student, "graded")
        gpu = torch.cuda.is_available()  # a GPU grader: the table's GPU rows
        full, expected = self.expected.FULL, expected_points(graded["lab"], gpu=gpu)[student]
        assert {check: float(row[check]) for check in full} == expected
        assert float(row["score"]) == sum(expected.values())
        assert float(row["max_score"]) == sum(full.values())

    def test_failed_check_tells_the_student_why(self, graded, student, check):
        outcome = next(c for c in graded["records"][student]["checks"] if c["check"] == check)
        assert outcome["status"] == "failed"
        assert self.expected.MESSAGES[student, check] in outcome["message"]
        assert "\n" not in outcome["message"].strip()  # one sentence, no traceback

    def test_cpu_gradable_checks_really_ran_on_the_cpu_grader(self, graded):
        statuses = {c["check"]: c["status"]
                    for c in graded["records"]["reference-solution"]["checks"]}
        gpu_only = self.table("GPU_ONLY", set())
        assert statuses == {check: "skipped" if check in gpu_only else "passed"
                            for check in self.expected.FULL}
        for check in gpu_only:
            outcome = next(c for c in graded["records"]["reference-solution"]["checks"]
                           if c["check"] == check)
            assert "gpu_policy='prefer'" in outcome["message"]
        assert graded["rows"]["reference-solution"]["needs_gpu_regrade"] == ""

    def test_written_answers_completeness_is_recorded_not_scored(self, graded):
        pending = sum(graded["lab"].points.written().values())
        for student, states in self.table("WRITTEN", {}).items():
            recorded = {w["question"]: w["state"] for w in graded["records"][student]["written"]}
            assert recorded == states, student
            assert float(graded["rows"][student]["manual_points_pending"]) == pending

    def test_feedback_shows_why_and_no_hidden_test_text(self, graded):
        feedback = graded["output"] / "feedback"
        assert len(list(feedback.glob("*.html"))) == len(self.expected.EXPECTED)
        student, sentence = self.expected.FEEDBACK
        html = (feedback / f"{student}.html").read_text()
        assert sentence in html  # the student learns what failed
        for secret in HIDDEN_TEXT:
            assert secret not in html

    def test_submissions_are_not_modified(self, graded):
        now = {p.name: p.read_bytes() for p in graded["submissions"].iterdir()}
        assert now == graded["originals"]

    def test_summary_counts_every_submission_and_names_each_problem(self, graded):
        count, held = len(self.expected.EXPECTED), len(self.table("STATUS", {}))
        counted = f"{count - held} graded, {held} integrity." if held else f"{count} graded."
        assert f"{count} submissions: {counted}" in graded["stdout"]
        for line in self.table("SUMMARY", ()):
            assert line in graded["stdout"]

    def test_reference_solution_passes_nbgrader_validate(self, graded):
        course = graded["course"]
        notebook = CourseLayout(course.root).submitted("reference-solution", graded["lab"])
        done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                              cwd=course.root, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Success! Your notebook passes all the tests." in done.stdout


class HeldForReview:
    """The tier's tests for a lab whose sample class holds submissions for review (its table
    has INTEGRITY_MESSAGES): test_lab_tiers.py adds them to that lab's tier."""

    def test_a_submission_held_for_review_says_why(self, graded, student, held):
        outcome = next(c for c in graded["records"][student]["checks"] if c["check"] == held)
        assert outcome["status"] == "integrity"
        assert self.expected.INTEGRITY_MESSAGES[student, held] in outcome["message"]
        assert "the model recognises or learnt from the data it is graded with" in \
            graded["rows"][student]["message"]
