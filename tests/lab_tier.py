"""The end-to-end tests every lab's sample class gets, graded once by the real `gpukit grade`.

A lab's test module subclasses :class:`LabTier` and states its expectations as tables: FULL (the
points of every autograded check), EXPECTED (the points every sample submission must get: the
reference solution, the untouched release, the demo class in gpukit/demo/submissions/<template>/
and the fixtures in tests/fixtures/<template>/, each an edit of the solution named for what it
exercises) and MESSAGES (what the student reads for a failed check). The tests here check the
tables against what real nbgrader, real kernels and the lab's hidden checks did.
"""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import pytest

from gpukit.course.layout import CourseLayout
from tests.conftest import FIXTURES
from tests.grading import grade_sample_class

# Text of the hidden machinery that feedback must never show.
HIDDEN_TEXT = ("HIDDEN TESTS", "import check", "check(&quot;", "observe_training",
               "SIMULATED_DEVICE")


def lab_of(loaded, template: str):
    return next(lab for lab in loaded.course.assignments if lab.template == template)


@pytest.mark.slow
class LabTier:
    template: ClassVar[str]
    FULL: ClassVar[dict[str, float]]
    EXPECTED: ClassVar[dict[str, dict[str, float]]]
    MESSAGES: ClassVar[dict[tuple[str, str], str]]
    GPU_ONLY: ClassVar[set[str]] = set()  # checks skipped with full points on a CPU grader
    WRITTEN: ClassVar[dict[str, dict[str, str]]]  # completeness states of two submissions
    FEEDBACK: ClassVar[tuple[str, str]]  # a submission and a sentence its feedback shows
    SETTINGS: ClassVar[dict] = {}  # a shorter variant of the lab's settings, if any

    @classmethod
    def pytest_generate_tests(cls, metafunc: pytest.Metafunc) -> None:
        if "student" in metafunc.fixturenames and "check" in metafunc.fixturenames:
            metafunc.parametrize(("student", "check"), sorted(cls.MESSAGES))
        elif "student" in metafunc.fixturenames:
            metafunc.parametrize("student", sorted(cls.EXPECTED))

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, released_course, tmp_path_factory) -> dict:
        """All sample submissions of the lab, graded once by `gpukit grade` as a subprocess."""
        return grade_sample_class(released_course, lab_of(released_course, cls.template),
                                  tmp_path_factory.mktemp(cls.template), set(cls.EXPECTED),
                                  settings=cls.SETTINGS)

    def test_every_check_fails_on_some_fixture(self):
        fixtures = {p.stem for p in (FIXTURES / self.template).glob("*.edits")}
        for check in set(self.FULL) - self.GPU_ONLY:  # no CPU submission can fail those
            assert any(self.EXPECTED[name][check] == 0 for name in fixtures), check

    def test_fixture_files_say_what_they_exercise(self):
        for path in sorted((FIXTURES / self.template).glob("*.edits")):
            assert path.read_text().startswith("# "), path.name

    def test_each_check_scores_as_expected(self, graded, student):
        row = graded["rows"][student]
        assert row["status"] == "graded"
        assert {check: float(row[check]) for check in self.FULL} == self.EXPECTED[student]
        assert float(row["score"]) == sum(self.EXPECTED[student].values())
        assert float(row["max_score"]) == sum(self.FULL.values())

    def test_failed_check_tells_the_student_why(self, graded, student, check):
        outcome = next(c for c in graded["records"][student]["checks"] if c["check"] == check)
        assert outcome["status"] == "failed"
        assert self.MESSAGES[student, check] in outcome["message"]
        assert "\n" not in outcome["message"].strip()  # one sentence, no traceback

    def test_cpu_gradable_checks_really_ran_on_the_cpu_grader(self, graded):
        statuses = {c["check"]: c["status"]
                    for c in graded["records"]["reference-solution"]["checks"]}
        expected = {check: "skipped" if check in self.GPU_ONLY else "passed"
                    for check in self.FULL}
        assert statuses == expected
        for check in self.GPU_ONLY:
            outcome = next(c for c in graded["records"]["reference-solution"]["checks"]
                           if c["check"] == check)
            assert "gpu_policy='prefer'" in outcome["message"]

    def test_written_answers_completeness_is_recorded_not_scored(self, graded):
        for student, states in self.WRITTEN.items():
            recorded = {w["question"]: w["state"] for w in graded["records"][student]["written"]}
            assert recorded == states, student

    def test_feedback_shows_why_and_no_hidden_test_text(self, graded):
        feedback = graded["output"] / "feedback"
        assert len(list(feedback.glob("*.html"))) == len(self.EXPECTED)
        student, sentence = self.FEEDBACK
        html = (feedback / f"{student}.html").read_text()
        assert sentence in html  # the student learns what failed
        for secret in HIDDEN_TEXT:
            assert secret not in html

    def test_submissions_are_not_modified(self, graded):
        now = {p.name: p.read_bytes() for p in graded["submissions"].iterdir()}
        assert now == graded["originals"]

    def test_summary_counts_every_submission(self, graded):
        count = len(self.EXPECTED)
        assert f"{count} submissions: {count} graded" in graded["stdout"]

    def test_reference_solution_passes_nbgrader_validate(self, graded):
        course = graded["course"]
        notebook = CourseLayout(course.root).submitted("reference-solution", graded["lab"])
        done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                              cwd=course.root, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Success! Your notebook passes all the tests." in done.stdout
