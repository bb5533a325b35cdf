"""What a student wrote in a notebook, per answer cell, and what the release gave everyone.

A submission is put back on the release as grading puts it (gpukit/pipeline/rebuild.py): answer
cells are found by nbgrader's cell id, else by the marker line each answer cell starts with, so a
notebook that lost its metadata in Colab compares like the original. What counts as the
student's:

* the text of each answer cell (code: the cell as handed in; written: the markdown, without the
  marker line and the ``YOUR ANSWER HERE`` stub);
* the code cells the student added (one part, ``own cells``); markdown cells of their own are
  notes, not answers, and are left out.

What the release gave everyone is boilerplate, never evidence: every code cell of the release
(given cells and the answer cells' stubs, with their given lines), the code quoted in the
instructions, and the instructions' text (for written answers). Nothing is executed: a notebook
is JSON, read as text.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import nbformat
import nbformat.reader
from nbformat.notebooknode import NotebookNode
from nbformat.validator import ValidationError

from gpukit.batch.records import STUB
from gpukit.notebooks.markers import strip_marker
from gpukit.pipeline.rebuild import rebuild
from gpukit.untrusted import plain_text

OWN_CELLS = "own cells"  # the part holding the code cells a student added
# A part longer than this is cut (a pasted dataset would only slow the comparison down).
MAX_PART_CHARS = 60_000
_FENCED = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True)
class Part:
    """The text of one answer cell (or of the student's own code cells)."""

    cell: str
    text: str


@dataclass(frozen=True)
class Work:
    """What one student wrote: code parts and written answers, in the notebook's order."""

    student: str
    code: tuple[Part, ...]
    written: tuple[Part, ...]


@dataclass(frozen=True)
class Given:
    """The boilerplate of an assignment: what the release (and the course's tutorials) gave."""

    code: str                      # every code cell of the release, and code the text quotes
    text: str                      # the instructions (markdown cells) and answer stubs
    code_cells: tuple[str, ...]    # the answer cells holding code, in order
    written_cells: tuple[str, ...]  # the answer cells holding written answers, in order
    extra: list[str] = field(default_factory=list)  # names of course files added to it


@dataclass(frozen=True)
class Tutorial:
    """A file of the course's own whose code and text count as given (a tutorial)."""

    name: str
    code: str
    text: str


def read_notebook(data: bytes | str) -> NotebookNode:
    """A notebook from its file's contents; ValueError if it is not one. Nothing is run or
    unpickled: the JSON is parsed (without nbformat's schema validation, slow on notebooks full
    of outputs) and every cell is made what the rest expects (text, metadata, a string id)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's notes on missing ids and old formats
            notebook = nbformat.convert(nbformat.reader.reads(text), 4)
        cells = notebook.get("cells")
        if not isinstance(cells, list):
            raise ValueError("it has no list of cells")
        notebook.cells = [_plain_cell(cell) for cell in cells]
        return notebook
    except (UnicodeDecodeError, AttributeError, TypeError, KeyError, RecursionError,
            ValidationError) as error:
        raise ValueError(f"not a readable Jupyter notebook ({type(error).__name__})") from None
    except ValueError as error:  # json's and nbformat's own errors are ValueErrors
        raise ValueError(f"not a readable Jupyter notebook ({str(error)[:120]})") from None


def _plain_cell(cell: object) -> NotebookNode:
    if not isinstance(cell, dict):
        raise ValueError("a cell is not a JSON object")
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise ValueError("a cell's text is not text")
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    nbgrader = metadata.get("nbgrader")
    if not isinstance(nbgrader, dict) or not isinstance(nbgrader.get("grade_id", ""), str):
        metadata = {key: value for key, value in metadata.items() if key != "nbgrader"}
    cell_type = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown") \
        else "raw"
    return nbformat.from_dict({"cell_type": cell_type, "source": source, "metadata": metadata,
                               "id": str(cell.get("id", "")), "outputs": []})


def _answer_id(cell: NotebookNode) -> str | None:
    nbgrader = cell.metadata.get("nbgrader", {})
    return nbgrader.get("grade_id") if nbgrader.get("solution") else None


def given_material(release: NotebookNode, tutorials: tuple[Tutorial, ...] = ()) -> Given:
    """The boilerplate of the assignment released as ``release``, and of the course's own
    ``tutorials``."""
    code, text, code_cells, written_cells = [], [], [], []
    for cell in release.cells:
        answer = _answer_id(cell)
        if cell.cell_type == "code":
            code.append(cell.source)
            if answer:
                code_cells.append(answer)
        elif cell.cell_type == "markdown":
            text.append(cell.source)
            code += quoted_code(cell.source)
            if answer:
                written_cells.append(answer)
    for tutorial in tutorials:
        code.append(tutorial.code)
        text.append(tutorial.text)
    return Given("\n\n".join(code), "\n\n".join(text), tuple(code_cells), tuple(written_cells),
                 [tutorial.name for tutorial in tutorials])


def quoted_code(markdown: str) -> list[str]:
    """The code a text quotes (```fenced``` and `inline`): instructions quote what students
    then write, rightly (`torch.device("cuda")`)."""
    return _FENCED.findall(markdown) + _INLINE.findall(markdown)


def tutorial(name: str, content: str) -> Tutorial:
    """A course file as boilerplate: a notebook's code and markdown cells, a .py file's code,
    a .md or .txt file's text and the code it quotes."""
    if name.endswith(".ipynb"):
        notebook = read_notebook(content)
        return Tutorial(name, "\n\n".join(c.source for c in notebook.cells
                                           if c.cell_type == "code"),
                        "\n\n".join(c.source for c in notebook.cells
                                     if c.cell_type == "markdown"))
    if name.endswith(".py"):
        return Tutorial(name, content, "")
    return Tutorial(name, "\n\n".join(quoted_code(content)), content)


def student_work(student: str, notebook: NotebookNode, release: NotebookNode,
                 given: Given) -> Work:
    """The parts ``student`` wrote in ``notebook`` (a submission of the release ``release``)."""
    rebuilt = rebuild(notebook, release).notebook
    by_id = {_answer_id(cell): cell for cell in rebuilt.cells if _answer_id(cell)}
    code = [Part(cell, _cleaned(strip_marker(by_id[cell].source)))
            for cell in given.code_cells if cell in by_id]
    own = [cell.source for cell in rebuilt.cells
           if cell.cell_type == "code" and str(cell.get("id", "")).startswith("student-extra-")]
    if own:
        code.append(Part(OWN_CELLS, _cleaned("\n\n".join(own))))
    written = [Part(cell, _cleaned(written_text(by_id[cell].source)))
               for cell in given.written_cells if cell in by_id]
    return Work(student, tuple(p for p in code if p.text.strip()),
                tuple(p for p in written if p.text.strip()))


def written_text(source: str) -> str:
    """A written answer as the student wrote it: no marker line, stub or HTML comment."""
    return _HTML_COMMENT.sub("", strip_marker(source)).replace(STUB, "").strip()


def _cleaned(text: str) -> str:
    # No lone surrogates or control characters (a page or a CSV must hold it), bounded.
    return plain_text(text, limit=MAX_PART_CHARS)
