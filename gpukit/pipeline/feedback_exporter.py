"""nbgrader's feedback pages, safe for the instructor to open.

nbgrader renders feedback/<student>/<lab>/<notebook>.html with nbconvert's HTMLExporter and its
own ``feedback`` template, which puts the student's markdown and HTML outputs into the page as
they are: an answer holding ``<script>`` runs in the instructor's browser. :class:`FeedbackExporter`
is that exporter with nbgrader's template and look unchanged, and with every piece of the
student's markup cleaned (gpukit/safe_html.py) and a Content-Security-Policy first in the page.

nbgrader_settings.configure() makes it GenerateFeedback's exporter class, so every door that makes
feedback (`gpukit grade`, `nbgrader generate_feedback` in the course, formgrader's button) makes
safe pages. Formgrader's button sets HTMLExporter.template_name itself, which is why the
policy is added to the rendered page here and not by a template of gpukit's own.
"""

from __future__ import annotations

import os
from pathlib import Path

from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from gpukit.errors import GpukitError
from gpukit.safe_html import CLEANING_FILTERS, CONTENT_SECURITY_POLICY


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for pages that show a student's work (see the module's docstring)."""

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        # Whatever the configuration says. nbconvert's templates then pass HTML and markdown
        # outputs through the clean_html filter (ours, below) and leave out JavaScript outputs
        # and widgets.
        resources["should_sanitize_html"] = True
        return resources

    def default_filters(self):
        # The last of a name wins. nbgrader's template renders markdown cells and comments with
        # markdown2html alone, never through clean_html: the kit's markdown2html cleans.
        yield from super().default_filters()
        yield from CLEANING_FILTERS.items()

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return with_content_security_policy(page), resources


def with_content_security_policy(page: str) -> str:
    """``page`` with the policy as the first element of its <head>, and without scripts."""
    soup = BeautifulSoup(page, features="html.parser")
    if soup.head is None:
        raise GpukitError("The feedback page nbgrader rendered has no <head> for gpukit's "
                          "Content-Security-Policy.", hint="Use the nbgrader version the kit "
                          "pins (pyproject.toml); its feedback template has one.")
    # The policy forbids every script; the only ones left (the student's are text by now) are
    # nbgrader's MathJax loader from a CDN, which would only fail. Math shows as its TeX source.
    for script in soup.find_all("script"):
        script.decompose()
    soup.head.insert(0, soup.new_tag("meta", attrs={"http-equiv": "Content-Security-Policy",
                                                    "content": CONTENT_SECURITY_POLICY}))
    return str(soup)


# ------------------------------------------------------------------ finding nbconvert's templates


def nbconvert_data_dir() -> Path | None:
    """The ``share/jupyter`` folder installed beside nbconvert, if Jupyter would miss it.

    nbconvert's templates are data files: pip puts them in ``<prefix>/share/jupyter``, which
    Jupyter searches under ``sys.prefix``, the user's folder and JUPYTER_PATH only. An install
    with ``pip install --target DIR`` (a cluster image, the GPU machine's recipe) puts them in
    ``DIR/share/jupyter``, found by none of them: every feedback page then failed with "No
    template sub-directory with name 'classic'"."""
    import nbconvert
    from jupyter_core.paths import jupyter_path

    beside = Path(nbconvert.__file__).parent.parent / "share" / "jupyter"
    if not (beside / "nbconvert" / "templates").is_dir():
        return None
    known = {Path(path).resolve() for path in jupyter_path()}
    return None if beside.resolve() in known else beside


def find_nbconvert_templates() -> None:
    """Put nbconvert's own data folder on JUPYTER_PATH when Jupyter would miss it (for this
    process and the ones it starts)."""
    beside = nbconvert_data_dir()
    if beside is not None:
        paths = [*filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep)),
                 str(beside)]
        os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def render_probe_page() -> str:
    """A feedback page for a one-cell notebook, made as nbgrader's GenerateFeedback makes them
    (its template, its paths, this exporter): raises what a real feedback step would."""
    import nbformat
    from nbgrader.converters import generate_feedback
    from traitlets.config import Config

    formgrader = Path(generate_feedback.__file__).resolve().parent.parent / \
        "server_extensions" / "formgrader"
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(formgrader / "templates")]
    config.HTMLExporter.extra_template_paths = [
        str(formgrader / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("probe")])
    resources = {"nbgrader": {"score": 0, "max_score": 0, "late_penalty": 0,
                              "notebook": "probe"}}
    page, _ = FeedbackExporter(config=config).from_notebook_node(notebook, resources)
    return page
