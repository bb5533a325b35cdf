"""Feedback pages are safe to open: a student's markup never runs in the instructor's browser.

A small course (its gradebook made with nbgrader's API) holds one notebook as autograding leaves
it, whose written answer and cell outputs carry what a hostile student would hand in. The real
nbgrader renders its feedback through the course's nbgrader_config.py, by two doors: the
`nbgrader generate_feedback` command, and the API formgrader's button and `gpukit grade` call
(which sets nbgrader's template itself). No kernel runs.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from sqlalchemy.exc import SAWarning

from gpukit.config import Course, python_source
from gpukit.course.nbgrader_steps import run_command, run_nbgrader
from gpukit.labs import gpu_basics
from gpukit.pipeline.nbgrader_settings import write_shim
from gpukit.safe_html import CONTENT_SECURITY_POLICY, clean_html
from tests.html_page import ParsedPage, live_markup, open_in_chromium

STUDENT = "mallory"
NOTEBOOK = "gpu_basics"
ANSWER = "My answer: the kernel launch returns before the GPU has finished."
# Each line a way to run script or load from elsewhere if the page kept it as markup.
HOSTILE = """
<script>alert("script")</script>
<img src=x onerror=alert("img")>
<a href="javascript:alert('a')">a link</a>
<iframe src="https://evil.example/frame"></iframe>
<style>@import url(http://evil.example/sheet.css);</style>
"""
MARKDOWN_LINK = '[a markdown link](javascript:alert("markdown"))'
ORDINARY = """# Heading one

- item one
- item two

| name | value |
|------|-------|
| loss | 0.25  |

Inline `torch.cuda.synchronize()` and math $x^2$.
"""
COMMENT = "Good **start**."

# formgrader's "Generate Feedback" button and gpukit grade's jobs (nbgrader_job.py) call this.
API_DOOR = """
import sys
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.baseapp import NbGrader
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory

app = NbGrader()
app.load_config_file()
api = NbGraderAPI(CourseDirectory(parent=app), Authenticator(parent=app), parent=app)
done = api.generate_feedback(sys.argv[1], sys.argv[2])
sys.exit(0 if done["success"] else done.get("error", "generate_feedback failed"))
"""


def _autograded_notebook() -> nbformat.NotebookNode:
    def nbgrader(grade_id: str, **flags) -> dict:
        return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False,
                             "grade": False, "solution": False, **flags}}

    png = base64.b64encode(b"\x89PNG not really").decode()
    outputs = [
        new_output("display_data", data={"text/html": HOSTILE + "<table><tr><th>col</th></tr>"
                                         "</table>", "text/plain": "<HTML>"}),
        new_output("display_data", data={"application/javascript": 'alert("javascript")'}),
        new_output("display_data", data={"text/markdown": HOSTILE + "\n" + MARKDOWN_LINK}),
        # A size nbconvert writes unquoted into the <img> tag.
        new_output("display_data", data={"image/png": png},
                   metadata={"image/png": {"width": '1 onerror=alert("width")'}}),
        new_output("stream", name="stdout", text=HOSTILE),
    ]
    return new_notebook(cells=[
        new_markdown_cell(ORDINARY),
        new_markdown_cell(f"{ANSWER}\n\n{HOSTILE}\n\n{MARKDOWN_LINK}\n",
                          metadata=nbgrader("q_answer", grade=True, solution=True, points=2)),
        new_code_cell("show(hostile_html)", outputs=outputs,
                      metadata=nbgrader("a_code", solution=True)),
        new_code_cell("check()", metadata=nbgrader("check_x", grade=True, locked=True,
                                                    points=3)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course whose gradebook holds the student's scores and the instructor's comment, and
    whose autograded/ holds the notebook (nothing here runs a kernel)."""
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("feedback") / "course"
    root.mkdir()
    lab = gpu_basics.Lab()
    (root / "grading_config.py").write_text(python_source(Course(
        course_id="c1", data_dir=str(root / "data"), assignments=[lab])))
    write_shim(root)
    autograded = root / "autograded" / STUDENT / lab.name / f"{NOTEBOOK}.ipynb"
    autograded.parent.mkdir(parents=True)
    nbformat.write(_autograded_notebook(), autograded)
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # nbgrader runs `alembic` by name to make a new gradebook.
        patch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent),
                                              os.environ.get("PATH", "")]))
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission, on its session
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="c1") as gb:
            gb.update_or_create_assignment(lab.name)
            gb.update_or_create_notebook(NOTEBOOK, lab.name)
            gb.update_or_create_grade_cell("q_answer", NOTEBOOK, lab.name, max_score=2,
                                           cell_type="markdown")
            gb.update_or_create_solution_cell("q_answer", NOTEBOOK, lab.name)
            gb.update_or_create_solution_cell("a_code", NOTEBOOK, lab.name)
            gb.update_or_create_grade_cell("check_x", NOTEBOOK, lab.name, max_score=3,
                                           cell_type="code")
            gb.update_or_create_student(STUDENT)
            gb.add_submission(lab.name, STUDENT)
            gb.find_grade("q_answer", NOTEBOOK, lab.name, STUDENT).manual_score = 1.5
            gb.find_grade("check_x", NOTEBOOK, lab.name, STUDENT).auto_score = 3
            gb.find_comment("q_answer", NOTEBOOK, lab.name, STUDENT).manual_comment = \
                f"{COMMENT}\n{HOSTILE}"
            gb.db.commit()
    return root


@pytest.fixture(scope="module", params=["nbgrader generate_feedback", "formgrader's API"])
def page(course: Path, request: pytest.FixtureRequest) -> Path:
    """The feedback page, made by one door."""
    path = course / "feedback" / STUDENT / "gpu_basics" / f"{NOTEBOOK}.html"
    shutil.rmtree(course / "feedback", ignore_errors=True)
    if request.param == "nbgrader generate_feedback":
        run_nbgrader(course, "generate_feedback", "gpu_basics", "--student", STUDENT)
    else:
        run_command(course, [sys.executable, "-c", API_DOOR, "gpu_basics", STUDENT],
                    what="NbGraderAPI.generate_feedback")
    assert path.is_file()
    return path


def test_the_student_s_markup_is_not_live_in_the_page(page: Path):
    parsed = ParsedPage(page.read_text(encoding="utf-8"))
    assert live_markup(parsed) == []
    assert "evil.example" not in " ".join(parsed.style_text)  # nbgrader's own styles only
    assert 'alert("javascript")' not in parsed.shown()  # a JavaScript output is left out


def test_the_policy_is_the_first_thing_in_head(page: Path):
    head = ParsedPage(page.read_text(encoding="utf-8")).head()
    assert head[0][0] == "head"
    assert head[1] == ("meta", {"http-equiv": "Content-Security-Policy",
                                "content": CONTENT_SECURITY_POLICY})


def test_the_answer_scores_and_comment_are_shown_with_the_attempts_as_text(page: Path):
    parsed = ParsedPage(page.read_text(encoding="utf-8"))
    shown = parsed.shown()
    assert ANSWER in shown
    assert "Score: 1.5 / 2.0" in shown and "Score: 3.0 / 3.0" in shown
    assert "(Score: 4.5 / 5.0)" in shown
    assert "Good start." in shown
    assert '<script>alert("script")</script>' in shown  # what the student tried, as text
    assert "a markdown link" in shown


def test_ordinary_markdown_still_renders(page: Path):
    parsed = ParsedPage(page.read_text(encoding="utf-8"))
    tags = [tag for tag, _, _ in parsed.elements]
    assert {"h1", "ul", "li", "table", "th", "td", "code", "strong"} <= set(tags)
    shown = parsed.shown()
    for words in ("Heading one", "item two", "loss", "torch.cuda.synchronize()", "$x^2$"):
        assert words in shown


def test_a_browser_runs_nothing_and_loads_nothing(page: Path, tmp_path: Path):
    """In Chromium: the page as made, and a copy with a script and a remote image put back in
    (as if the cleaning had missed them), which the policy alone must stop."""
    missed = tmp_path / "missed.html"
    missed.write_text(page.read_text(encoding="utf-8").replace(
        ANSWER, ANSWER + '<script>alert("missed")</script><img src="https://evil.example/x.png">'),
        encoding="utf-8")
    made, patched = open_in_chromium(page, missed)
    assert made["dialogs"] == patched["dialogs"] == []
    assert made["requests"] == [] and made["errors"] == []
    # Asked for, and refused by the policy before it left the browser.
    assert patched["requests"] == patched["blocked"] == ["https://evil.example/x.png"]
    assert ANSWER in made["text"][0]


@pytest.mark.parametrize("markup", [
    '<a href="javascript:alert(1)">x</a>', '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>', '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<img src="https://evil.example/pixel.png">', '<img src="x" onerror="alert(1)">',
    '<svg onload="alert(1)"></svg>', '<math><mi href="javascript:alert(1)">x</mi></math>',
    '<form action="https://evil.example/"><button>x</button></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">', '<p style="background:url(https://evil.example/)">x',
    '<object data="https://evil.example/x.swf"></object>',
])
def test_clean_html_leaves_nothing_that_runs_or_loads(markup: str):
    cleaned = ParsedPage(clean_html(markup))
    assert live_markup(cleaned) == []
    assert {tag for tag, _, _ in cleaned.elements} <= {"a", "img", "p"}  # the rest is text
    assert [attributes for _, attributes, _ in cleaned.elements if attributes] == []


def test_clean_html_keeps_what_formats_text():
    markup = ('<h2 id="h">T</h2><p><a href="#h">in page</a> <a href="https://x.org/">out</a> '
              '<img src="data:image/png;base64,AAAA" alt="plot"></p><table><thead><tr><th>a</th>'
              '</tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
              '<div class="highlight"><pre><span class="k">def</span></pre></div>')
    assert clean_html(markup) == markup


FORMGRADER_DOOR = """
import sys
from nbconvert.exporters import HTMLExporter
from nbgrader.apps.baseapp import NbGrader
from nbgrader.server_extensions.formgrader import handlers
import nbformat

# What formgrader's extension does: the course's configuration, its own template, a plain
# HTMLExporter (nbgrader/server_extensions/formgrader/formgrader.py).
app = NbGrader()
app.load_config_file()
config = app.config
config.HTMLExporter.template_name = "formgrade"
config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
notebook = nbformat.read(sys.argv[1], as_version=4)
page, _ = HTMLExporter(config=config).from_notebook_node(notebook, resources={
    "base_url": "/", "mathjax_url": "", "notebook_id": "x", "index": 0, "total": 1})
sys.stdout.write(page)
"""


def test_formgraders_grading_page_shows_the_markup_as_text(course: Path):
    """formgrader's grading view renders the notebook with a plain HTMLExporter of the course's
    configuration, inside Jupyter's own scripted page: the cleaning alone must hold there."""
    notebook = course / "autograded" / STUDENT / "gpu_basics" / f"{NOTEBOOK}.ipynb"
    done = subprocess.run([sys.executable, "-c", FORMGRADER_DOOR, str(notebook)], cwd=course,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = ParsedPage(done.stdout)
    assert ANSWER in parsed.shown()
    assert '<script>alert("script")</script>' in parsed.shown()  # as text
    assert [item for item in live_markup(parsed) if "alert" in str(item)
            or "evil.example" in str(item)] == []
