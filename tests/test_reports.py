"""The instructor's view of a graded class: `gpukit report` and `gpukit export`, end to end.

Built from tests/mixed_class.py's class of lab 2 (graded, failed check, integrity hold, timeout,
invalid, Colab-saved), copied into a course of its own where an instructor has then done what
instructors do in formgrader: named the students (a comma, an apostrophe, non-ASCII letters),
graded one student's written answers by hand and left the others waiting. Every number the
report and the exports show must be the gradebook's.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from nbgrader.api import Gradebook, MissingEntry

from gpukit.batch.records import CheckRecord, SubmissionRecord
from gpukit.config import Course, LoadedConfig
from gpukit.course.layout import notebook_stem
from gpukit.course.new_lab import scaffold_lab
from gpukit.labs import gpu_basics
from gpukit.reports.attention import needs_attention
from gpukit.reports.classbook import ClassResults, GradedItem, Score, StudentResult
from gpukit.reports.exports import ExportError, StudentMapping, canvas_csv
from gpukit.reports.gradescope import RUN_AUTOGRADER
from gpukit.reports.page import ReportFile, render_report, shown_folder, write_index
from gpukit.reports.statistics import correlation, item_statistics
from gpukit.safe_html import CONTENT_SECURITY_POLICY
from tests.conftest import FIXTURES
from tests.html_page import ParsedPage, live_markup, open_in_chromium
from tests.html_page import chromium as find_chromium
from tests.mixed_class import CLASS

SCHEMA = json.loads((FIXTURES / "gradescope" / "results.schema.json").read_text())
NAMES = {"reference": ("Zoë", "O'Brien, Jr."), "output-left-on-device": ("José", "Müller"),
         "tampering": ("Ada", "Lovelace"), "loops-ignoring-interrupts": ("Grace", "Hopper"),
         "not-a-notebook": ("Alan", "Turing"), "colab-saved": ("Dong-hyun", "Kim")}
HAND_GRADED = {"q_same_device": 2.0, "q_empty_cache": 1.5}  # the reference's written answers


# ------------------------------------------------------------ unit level: the numbers themselves

def _result(student: str, points: dict[str, float], status: str = "graded",
            pending: tuple[str, ...] = ()) -> StudentResult:
    checks = [CheckRecord(name, value, 2, "passed" if value == 2 else "failed",
                          "" if value == 2 else f"{name} is wrong")
              for name, value in points.items() if name.startswith("check")]
    record = SubmissionRecord(student, "lab", status, status, checks=checks)
    return StudentResult(student, scores={name: Score(value, name in pending)
                                          for name, value in points.items()}, record=record)


def _class(*students: StudentResult) -> ClassResults:
    items = [GradedItem("check_a", 2, False), GradedItem("check_b", 2, False),
             GradedItem("q", 2, True)]
    return ClassResults("course", "lab", items, list(students), Path("."))


def test_checks_come_hardest_first_with_their_discrimination_and_reasons():
    results = _class(_result("a", {"check_a": 2, "check_b": 0, "q": 2}),
                     _result("b", {"check_a": 2, "check_b": 2, "q": 2}),
                     _result("c", {"check_a": 0, "check_b": 0, "q": 0}),
                     _result("d", {"check_a": 2, "check_b": 0, "q": 0}, pending=("q",)))
    stats = item_statistics(results)
    assert [s.item.name for s in stats] == ["check_b", "check_a", "q"]  # written ones last
    check_b = stats[0]
    assert (check_b.scored, check_b.full, check_b.pass_rate) == (4, 1, 0.25)
    assert check_b.failures == [("check_b is wrong", 3)]
    assert stats[2].scored == 3  # the answer still to grade by hand is not counted
    # Each check's points against the rest of the score (totals 4, 6, 0, 2).
    assert check_b.discrimination == pytest.approx(correlation([0, 2, 0, 0], [4, 4, 0, 2]))
    assert stats[1].discrimination == pytest.approx(3 / 33 ** 0.5)


def test_correlation_is_undefined_without_variation_or_data():
    assert correlation([1, 1, 1], [0, 1, 2]) is None
    assert correlation([0, 1], [0, 1]) is None
    assert correlation([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)


def test_the_grader_s_own_failures_and_pending_work_are_listed_for_the_instructor():
    broken = StudentResult("e", record=SubmissionRecord(
        "e", "lab", "environment", "the instructor's cell setup raised DatasetError"))
    results = _class(_result("a", {"check_a": 2, "check_b": 2, "q": 0}, pending=("q",)),
                     broken)
    attention = needs_attention(results)
    assert [(i.student, i.detail) for i in attention["environment"]] == [
        ("e", "the instructor's cell setup raised DatasetError")]
    assert [(i.student, i.detail) for i in attention["manual"]] == [("a", "q")]
    assert set(attention) == {"environment", "manual"}


def test_canvas_export_names_every_student_it_cannot_identify():
    results = _class(_result("a", {"check_a": 2}), _result("b", {"check_a": 0}))
    with pytest.raises(ExportError, match="2 students have no Canvas ID: a, b"):
        canvas_csv([results], StudentMapping({}), {})


def test_a_student_mapping_without_its_key_column_is_refused(tmp_path):
    mapping = tmp_path / "students.csv"
    mapping.write_text("name,ID\nzoe,1\n")
    with pytest.raises(ExportError, match="has no 'student' column"):
        StudentMapping.read(mapping)


# A student chooses their id (a file name), their name (in the LMS) and, through their code, the
# messages the checks quote: the class report shows them all as text.
HOSTILE_ID = '<img src=x onerror=alert("id")>'
HOSTILE_MESSAGE = '<script>alert("message")</script> <a href="javascript:alert(1)">retry</a>'


def test_the_class_report_shows_what_students_control_as_text_under_the_policy(tmp_path):
    root = tmp_path / "course"
    output = root / "graded" / "lab"
    (output / "feedback").mkdir(parents=True)
    record = SubmissionRecord(HOSTILE_ID, "lab", "error", HOSTILE_MESSAGE, checks=[
        CheckRecord("check_a", 0, 2, "failed", "javascript:alert(3)")])
    hostile = StudentResult(HOSTILE_ID, first_name='<b onmouseover="alert(2)">Eve</b>',
                            scores={"check_a": Score(0, False), "q": Score(1, True)},
                            record=record, feedback=output / "feedback" / f"{HOSTILE_ID}.html")
    hostile.feedback.write_text("feedback")
    results = ClassResults("course", "lab", _class().items,
                           [_result("a", {"check_a": 2, "check_b": 2, "q": 2}), hostile], output)
    report = output / "report.html"
    report.write_text(render_report(results, gpu_basics.Lab(), shown_folder(output, root),
                                    _hostile_similarity()), encoding="utf-8")
    index = write_index(LoadedConfig(Course(course_id="c1", assignments=[gpu_basics.Lab()]),
                                     root), [ReportFile("lab", report, 2)])

    for page in (report, index):
        parsed = ParsedPage(page.read_text(encoding="utf-8"))
        assert live_markup(parsed) == [], page
        assert parsed.head()[1] == ("meta", {"http-equiv": "Content-Security-Policy",
                                             "content": CONTENT_SECURITY_POLICY}), page
        assert str(tmp_path) not in page.read_text(encoding="utf-8"), page
    shown = ParsedPage(report.read_text(encoding="utf-8")).shown()
    for text in (HOSTILE_ID, HOSTILE_MESSAGE, '<b onmouseover="alert(2)">Eve</b>',
                 "javascript:alert(3)", "grading records in graded/lab",
                 HOSTILE_CODE.splitlines()[0], "Similar submissions", "1 listed"):
        assert text in shown
    opened, = open_in_chromium(report)  # the policy leaves the page's own plots alone
    assert opened["dialogs"] == opened["requests"] == opened["console"] == []
    assert "Scores of the pairs not listed" in opened["text"][0]


HOSTILE_CODE = ('# </pre></details><script>alert("code")</script>\n'
                'def train(model, batches, optimizer):\n'
                '    for inputs, targets in batches:\n'
                '        optimizer.zero_grad()\n'
                '        loss = model(inputs).sub(targets).pow(2).mean()\n'
                '        loss.backward()\n'
                '        optimizer.step()\n'
                '        if loss.item() < 1e-3:\n'
                '            break\n'
                '    for name, value in model.state_dict().items():\n'
                '        print(name, tuple(value.shape), float(value.abs().max()))\n'
                '    return "<iframe src=javascript:alert(4)></iframe>"\n')


def _hostile_similarity():
    """The similarity section of two students, one with a hostile id, sharing hostile code."""
    from gpukit.similarity.extract import Given, Part, Work
    from gpukit.similarity.page import section
    from gpukit.similarity.pairs import Settings, find_similar

    works = [Work(student, (Part("code_cell", HOSTILE_CODE),), ()) for student in
             (HOSTILE_ID, "a")]
    found = find_similar("lab", works, Given("", "", ("code_cell",), ()), Settings(0.5, 0.05))
    assert [(p.a, p.b) for p in found.pairs] == [(HOSTILE_ID, "a")]
    return section(found)


def test_a_page_names_a_folder_outside_the_course_by_its_name_alone(tmp_path):
    assert shown_folder(tmp_path / "course" / "graded" / "lab", tmp_path / "course") == \
        "graded/lab"
    assert shown_folder(tmp_path / "elsewhere" / "out", tmp_path / "course") == "out"


# ------------------------------------------------- the Gradescope zip, which leaves the machine

COURSE_WITH_SECRETS = """\
from gpukit.config import Course
from labs import mylab

config = Course(course_id="c1", data_dir={data_dir!r}, cell_timeout_s=77,
                gradebook_url="postgresql://grader:s3cret@db.example/c1",
                assignments=[mylab.Lab()])
"""
# As `gpukit release` leaves autograder/ (run in a fresh interpreter, as SETTINGS_OF below).
WRITE_AUTOGRADER = """
from gpukit.config import load_config
from gpukit.release.autograder import write_autograder
loaded = load_config("grading_config.py")
for lab in loaded.course.assignments:
    write_autograder(loaded, lab)
"""
# Run in a fresh interpreter, so that `labs` is imported from beside the file loaded.
SETTINGS_OF = """
import dataclasses, json, sys
from gpukit.config import load_config
loaded = load_config(sys.argv[1])
lab = loaded.course.assignments[0]
print(json.dumps({"course": dataclasses.asdict(loaded.course), "lab": type(lab).__module__,
                  "folder": str(lab.folder), "data_dir": str(loaded.data_dir)}))
"""


def _settings_of(config: Path) -> dict:
    env = {name: value for name, value in os.environ.items() if name != "GPUKIT_DATA_DIR"}
    done = subprocess.run([sys.executable, "-c", SETTINGS_OF, str(config)], cwd=config.parent,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_autograder_zip_carries_no_path_or_secret_of_the_instructor(tmp_path):
    root = tmp_path / "course"
    scaffold_lab("mylab", root)  # the course's own lab (gpukit new-lab)
    (root / "grading_config.py").write_text(COURSE_WITH_SECRETS.format(
        data_dir=str(tmp_path / "datasets")))
    (root / "source" / "mylab").mkdir(parents=True)  # as `gpukit release` leaves it
    (root / "source" / "mylab" / "mylab.ipynb").write_text("{}")
    written = subprocess.run([sys.executable, "-c", WRITE_AUTOGRADER], cwd=root,
                             capture_output=True, text=True, timeout=120)
    assert written.returncode == 0, written.stderr
    target = tmp_path / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "gpukit", "gradescope-autograder", "--output",
                           str(target)], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    with zipfile.ZipFile(target) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", errors="replace")
            for secret in ("s3cret", str(tmp_path), str(Path.home()) + "/"):
                assert secret not in text, (name, secret)
        archive.extractall(tmp_path / "source")
    original = _settings_of(root / "grading_config.py")
    shipped = _settings_of(tmp_path / "source" / "course" / "grading_config.py")
    assert shipped["course"] == {**original["course"], "data_dir": "../data",
                                 "gradebook_url": ""}
    assert shipped["lab"] == original["lab"] == "labs.mylab"
    assert Path(shipped["folder"]) == tmp_path / "source" / "course" / "labs" / "mylab"
    assert Path(shipped["data_dir"]) == tmp_path / "source" / "data"  # where setup.sh fetches


def test_run_autograder_copies_a_submitted_link_as_a_link(tmp_path):
    """run_autograder's own steps, with gpukit itself stood in for by `true`."""
    (tmp_path / "source" / "course").mkdir(parents=True)
    script = tmp_path / "source" / "run_autograder"
    script.write_text(RUN_AUTOGRADER.format(student="student", assignment="lab",
                                            visibility="visible"))
    submission = tmp_path / "submission"
    submission.mkdir()
    (tmp_path / "instructor-secret.txt").write_text("secret")
    (submission / "notes.txt").symlink_to(tmp_path / "instructor-secret.txt")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "GPUKIT_GRADESCOPE_ROOT": str(tmp_path), "PYTHON": "true",
           "TMPDIR": str(scratch)}
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    copied, = scratch.glob("*/submissions/student/notes.txt")
    assert copied.is_symlink()


# ----------------------------------------------------- end to end, on the graded mixed class

@pytest.fixture(scope="module")
def course(mixed_class, tmp_path_factory) -> dict:
    """A copy of the graded mixed class, named and partly hand-graded in its gradebook."""
    lab = mixed_class["lab"]
    root = tmp_path_factory.mktemp("reported") / "course"
    shutil.copytree(mixed_class["root"], root, symlinks=True)
    shutil.copytree(mixed_class["output"], root / "graded" / lab.name)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, (first, last) in NAMES.items():
            gb.update_or_create_student(student, first_name=first, last_name=last,
                                        email=f"{student}@uni.example")
        nb = gb.find_submission_notebook(notebook_stem(lab), lab.name, "reference")
        for grade in nb.grades:
            if grade.name in HAND_GRADED:
                grade.manual_score = HAND_GRADED[grade.name]
                grade.needs_manual_grade = False
        gb.db.commit()
    return {"root": root, "lab": lab, "output": root / "graded" / lab.name,
            "gradebook": _gradebook(root, lab)}


def _gradebook(root: Path, lab) -> dict[str, dict[str, tuple[float, bool]]]:
    """Per student with a scored notebook: every grade's (score, needs manual grade)."""
    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(lab.name):
            try:
                nb = gb.find_submission_notebook(notebook_stem(lab), lab.name,
                                                 submission.student.id)
            except MissingEntry:  # no notebook row: nothing scored
                continue
            if any(g.auto_score is not None or g.manual_score is not None for g in nb.grades):
                found[submission.student.id] = {g.name: (g.score, g.needs_manual_grade)
                                                for g in nb.grades}
    return found


def gpukit(course: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "gpukit", *args], cwd=course["root"],
                          capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


class _Rows(HTMLParser):
    """The cells of every table row that has an id, as text."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.row: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and dict(attrs).get("id"):
            self.row = dict(attrs)["id"]
            self.rows[self.row] = []
        elif tag == "td" and self.row:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.row and self.cell is not None:
            self.rows[self.row].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture(scope="module")
def report(course) -> dict:
    done = gpukit(course, "report", "--assignment", course["lab"].name)
    path = course["output"] / "report.html"
    assert f"-> {path}" in done.stdout
    parser = _Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return {"path": path, "rows": parser.rows, "html": path.read_text(encoding="utf-8"),
            "index": course["root"] / "graded" / "index.html"}


def test_the_report_has_every_student_with_the_gradebook_s_scores(course, report):
    items = list(next(iter(course["gradebook"].values())))
    for student, (status, _) in CLASS.items():
        cells = report["rows"][f"student-{student}"]
        assert cells[:3] == [student, " ".join(NAMES[student]), status]
        grades = course["gradebook"].get(student)
        if grades is None:
            assert cells[3] == "—"
            continue
        assert float(cells[3]) == pytest.approx(sum(score for score, _ in grades.values()))
        shown = dict(zip(_item_order(report), cells[4:-1], strict=True))
        for item in items:
            score, waiting = grades[item]
            held = f"{score:g} held"  # an integrity hold: zero until the instructor looks
            assert shown[item] == (f"{score:g}" if not waiting else "to grade"
                                   if item in HAND_GRADED else held), (student, item)


def _item_order(report) -> list[str]:
    header = report["html"].split('<section id="students">')[1].split("</thead>")[0]
    return [part.split('"')[0].split(" (")[0] for part in header.split('title="')[1:]]


def test_the_report_ranks_every_check_with_its_failure_messages(course, report):
    items = next(iter(course["gradebook"].values()))
    for item in items:
        assert f"check-{item}" in report["rows"]
    forward = report["rows"]["check-forward_on"]
    # Scored: the reference, its Colab copy, the failed check (the held one awaits review).
    assert forward[2] == "3" and forward[3] == "67 %"
    assert "1 × forward_on() returns the output on `device`" in forward[6]


def test_the_report_lists_what_needs_the_instructor(report):
    attention = report["html"].split('<section id="attention">')[1].split("</section>")[0]
    for heading in ("Held for review (1)", "Time limits (1)", "Not gradable (1)",
                    "Written answers to grade (3)"):
        assert heading in attention
    assert "imports gpukit.grading" in attention  # the integrity finding, as recorded
    assert "is not a readable Jupyter notebook" in attention


def test_the_course_page_links_the_report(report):
    html = report["index"].read_text(encoding="utf-8")
    assert 'href="gpu_basics/report.html"' in html


def test_the_report_renders_in_a_real_browser_with_every_plot(report, tmp_path):
    chromium = find_chromium()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.goto(report["path"].as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.id, e.complete && e.naturalWidth > 100])")
        links = page.eval_on_selector_all("a[href$='.html']", "els => els.map(e => e.href)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert dict(images) == {"plot-status": True, "plot-scores": True, "plot-checks": True,
                            "plot-grading-time": True, "plot-similarity": True}
    assert links and all(Path(unquote(link.removeprefix("file://"))).is_file()
                         for link in links)
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_the_checks_csv_holds_the_gradebook_s_points_and_names_round_trip(course):
    gpukit(course, "export", "--format", "csv", "--assignment", course["lab"].name)
    with (course["output"] / "checks.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(CLASS) | {"(points possible)"}
    for student in CLASS:
        assert (rows[student]["first_name"], rows[student]["last_name"]) == NAMES[student]
        grades = course["gradebook"].get(student)
        for item, (score, _) in (grades or {}).items():
            assert float(rows[student][item]) == score
        assert rows[student]["score"] == (f"{sum(s for s, _ in grades.values()):g}"
                                          if grades else "")


def test_canvas_import_with_a_mapping_round_trips_commas_and_non_ascii(course, tmp_path):
    mapping = tmp_path / "canvas-students.csv"
    with mapping.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
        for number, (student, (first, last)) in enumerate(sorted(NAMES.items()), start=1):
            writer.writerow([student, f"{last}, {first}", 1000 + number, f"S{number}",
                             f"{student}@uni.example", "Section A, Tuesday"])
    target = tmp_path / "canvas.csv"
    gpukit(course, "export", "--format", "canvas", "--students", str(mapping),
           "--canvas-id", f"{course['lab'].name}=777", "--output", str(target))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       f"{course['lab'].name} (777)"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == 17
    by_login = {row[3]: row for row in rows[2:]}
    assert by_login["reference@uni.example"][0] == "O'Brien, Jr., Zoë"
    assert by_login["reference@uni.example"][4] == "Section A, Tuesday"
    for student in CLASS:
        grades = course["gradebook"].get(student)
        expected = f"{sum(s for s, _ in grades.values()):g}" if grades else ""
        assert by_login[f"{student}@uni.example"][5] == expected, student


def test_canvas_import_without_ids_stops_with_who_is_missing(course, tmp_path):
    done = gpukit(course, "export", "--format", "canvas", "--output",
                  str(tmp_path / "canvas.csv"), check=False)
    assert done.returncode == 1
    assert "6 students have no Canvas ID" in done.stderr and "--students FILE" in done.stderr
    assert not (tmp_path / "canvas.csv").exists()  # nothing half written


def test_moodle_import_is_keyed_by_email(course, tmp_path):
    target = tmp_path / "moodle.csv"
    gpukit(course, "export", "--format", "moodle", "--output", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row["email"] for row in rows] == sorted(f"{s}@uni.example" for s in CLASS)
    assert {row["email"]: row[course["lab"].name] for row in rows}["reference@uni.example"] \
        == f"{sum(s for s, _ in course['gradebook']['reference'].values()):g}"


def test_gradescope_results_follow_the_spec_and_the_gradebook(course, tmp_path):
    gpukit(course, "export", "--format", "gradescope", "--output", str(tmp_path / "gs"))
    for student in CLASS:
        result = json.loads((tmp_path / "gs" / student / "results.json").read_text())
        jsonschema.validate(result, SCHEMA)
        grades = course["gradebook"].get(student, {})
        assert result["score"] == pytest.approx(sum(s for s, _ in grades.values()))
        assert {t["name"]: t["score"] for t in result["tests"]} == {
            item: score for item, (score, waiting) in grades.items() if not waiting}
    reference = json.loads((tmp_path / "gs" / "reference" / "results.json").read_text())
    assert {"q_same_device", "q_empty_cache"} <= {t["name"] for t in reference["tests"]}


def test_the_gradescope_autograder_zip_grades_a_submission(course, tmp_path):
    target = tmp_path / "autograder.zip"
    gpukit(course, "gradescope-autograder", "--assignment", course["lab"].name, "--output",
           str(target))
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        archive.extractall(tmp_path / "autograder" / "source")
    assert {"setup.sh", "run_autograder", "course/grading_config.py",
            "kit/pyproject.toml"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not any(name.startswith(("course/solutions", "course/submitted")) or
                   name.endswith("gradebook.db") for name in names)
    submission = tmp_path / "autograder" / "submission"
    submission.mkdir()
    shutil.copy(course["root"] / "submitted" / "reference" / course["lab"].name /
                "gpu_basics.ipynb", submission / "my_lab2.ipynb")
    env = {**os.environ, "GPUKIT_GRADESCOPE_ROOT": str(tmp_path / "autograder"),
           "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(tmp_path / "autograder" / "source" / "run_autograder")],
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "autograder" / "results" / "results.json").read_text())
    jsonschema.validate(result, SCHEMA)
    automatic = {item: score for item, (score, _) in course["gradebook"]["reference"].items()
                 if item not in HAND_GRADED}
    assert result["score"] == sum(automatic.values())
    assert {t["name"]: t["score"] for t in result["tests"]} == automatic
