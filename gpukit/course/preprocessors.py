"""nbgrader preprocessors the kit adds to the stock pipelines (see nbgrader_settings.py)."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor


class StderrIsNotFailure(NbGraderPreprocessor):
    """In autograded test cells, turn stderr output into stdout before grades are saved.

    Stock nbgrader scores a test cell zero when anything reaches stderr, and TensorFlow and
    PyTorch write warnings and log lines there on their own. gpukit's checks fail by raising (an
    "error" output, still zero), so stderr carries no verdict; the text stays visible.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden test regions again before feedback is rendered.

    Autograding restores the hidden tests into the graded notebook, and stock
    `nbgrader generate_feedback` shows them to the student; the kit's feedback does not.
    """

    enforce_metadata = False  # feedback of a graded notebook: no metadata to police here
