"""HTML a student controls, made safe for the pages the instructor opens.

A student writes the markdown of their answers and, through their code, every HTML, markdown and
image output a cell displays. The feedback pages (gpukit/pipeline/feedback_exporter.py) show them
to the instructor, in a browser that can read the instructor's other local files. Two walls,
each enough on its own for what it covers:

* :func:`clean_html` keeps the markup that formats text (headings, lists, tables, code, emphasis,
  links, embedded images) and shows every other tag as text (``<script>``, ``<iframe>``,
  ``<style>``, forms), with event-handler attributes and script URLs dropped;
* :data:`CONTENT_SECURITY_POLICY` (a ``<meta>`` first in every page's ``<head>``: the feedback
  pages, and the class report and course page, gpukit/reports/page.py) makes the browser run no
  script and load nothing from anywhere, whatever markup got through: only inline styles, and
  images and fonts embedded as data URIs.
"""

from __future__ import annotations

import html
import re

import bleach
from jinja2 import pass_context
from nbconvert.filters import get_metadata

# Not covered by default-src: base-uri (a <base> would redirect the page's relative links) and
# form-action (a form could send what it holds anywhere).
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "font-src data:; base-uri 'none'; form-action 'none'")

# What markdown renders to (nbconvert's mistune renderer, pygments for code blocks) and what
# pandas and similar libraries display; nothing that runs, loads or submits.
TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
    "samp", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "ul"})
ATTRIBUTES = {
    "*": ("class", "id", "title"), "a": ("href",), "img": ("src", "alt", "width", "height"),
    "td": ("colspan", "rowspan", "align"), "th": ("colspan", "rowspan", "align"),
    "ol": ("start",)}
LINK_SCHEMES = ("", "http", "https", "mailto")  # "": a link within the page or beside it
# A second gate, bleach's own check of every URL; data: passes it for images only (_allowed).
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")
# What browsers ignore in a URL (bleach's rule): "java\tscript:" is "javascript:" to them.
_IGNORED_IN_URLS = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+|[^\x00-\x7f]")


def clean_html(markup: str | bytes) -> str:
    """``markup`` with only text-formatting tags left as markup; any other tag as text."""
    if isinstance(markup, bytes):
        markup = markup.decode("utf-8", errors="replace")
    return bleach.clean(str(markup), tags=TAGS, attributes=_allowed, protocols=PROTOCOLS,
                        strip=False, strip_comments=True)


def _allowed(tag: str, name: str, value: str) -> bool:
    if name not in ATTRIBUTES["*"] and name not in ATTRIBUTES.get(tag, ()):
        return False
    if name == "href":
        return scheme(value) in LINK_SCHEMES
    if name == "src":  # an image embedded in the notebook; the CSP blocks any other anyway
        return _normalized(value).startswith("data:image/")
    return True


def scheme(url: str) -> str:
    """The scheme a browser sees in ``url`` ("javascript", "https"), or "" for a relative one."""
    found = _SCHEME.match(_normalized(url))
    return found.group()[:-1] if found else ""


def _normalized(url: str) -> str:
    return _IGNORED_IN_URLS.sub("", html.unescape(url)).lower()


@pass_context
def markdown_as_clean_html(context, source: str) -> str:
    """Markdown (a student's written answer) as HTML, cleaned: nbconvert's own renderer (cell
    attachments embedded as data URIs, math kept) followed by :func:`clean_html`. It replaces
    nbconvert's ``markdown2html`` filter in every HTMLExporter the course's nbgrader makes
    (nbgrader_settings.configure()): formgrader's grading pages render the student's answers
    with it, in a page that runs Jupyter's own scripts, where no policy can forbid scripts."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    cell = context.get("cell", {})
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}),
                               embed_images=False, path="")
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))


IMAGE_SIZE = re.compile(r"\d{1,5}(\.\d+)?")


def image_metadata(output, key, mimetype=None):
    """nbconvert's get_metadata filter, where an image's width and height are numbers or
    nothing: nbconvert's template writes them into the <img> tag unquoted, so a size of
    ``1 onerror=...`` (an output's metadata is the student's) would add an attribute."""
    value = get_metadata(output, key, mimetype)
    if key in ("width", "height") and not IMAGE_SIZE.fullmatch(str(value)):
        return None
    return value


# The nbconvert filters through which every page showing a student's work renders it: the kit's
# FeedbackExporter uses them itself, and nbgrader_settings.configure() gives them by name to every
# HTMLExporter the course's nbgrader makes (formgrader's included).
CLEANING_FILTERS = {"markdown2html": markdown_as_clean_html, "clean_html": clean_html,
                    "get_metadata": image_metadata}
