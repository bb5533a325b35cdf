"""The static scan of students' code: what it flags, and lab code it must leave alone."""

from __future__ import annotations

import pytest

from gpukit.course.scan import scan_cells

FLAGGED = {
    "get_ipython().showtraceback = lambda *a, **k: None": "replaces get_ipython().showtraceback",
    "shell = get_ipython()\nshell.input_transformers_cleanup.append(f)":
        "changes shell.input_transformers_cleanup",
    "get_ipython().ast_transformers.insert(0, t)": "changes get_ipython().ast_transformers",
    "get_ipython().events.register('pre_run_cell', spy)": "calls get_ipython().events.register()",
    "import time\ntime.perf_counter = lambda: 0.0": "replaces time.perf_counter",
    "import time as t\nt.perf_counter = fake": "replaces t.perf_counter",
    "torch.cuda.is_available = lambda: True": "replaces torch.cuda.is_available",
    "import builtins\nbuiltins.isinstance = lambda *a: True": "replaces builtins.isinstance",
    "setattr(torch.cuda, 'is_available', lambda: True)": "replaces is_available with setattr()",
    "import sys\nsys.settrace(tracer)": "calls sys.settrace()",
    "import sys as s\ns.modules['pytest'] = fake": "edits s.modules",
    "sys.meta_path.insert(0, finder)": "changes sys.meta_path",
    "import gpukit.grading": "imports gpukit.grading",
    "from gpukit.grading import check": "imports gpukit.grading",
    "from unittest import mock": "imports unittest",
    "import ctypes": "imports ctypes",
    "import gc\nobjects = gc.get_objects()": "calls gc.get_objects()",
    "%time x = 1\ndel time.time": "replaces time.time",
}

LAB_CODE = [
    "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
    "start = time.perf_counter()\nmodel.fit(ds)\nkeras_train_time = time.perf_counter() - start",
    "torch.cuda.synchronize()\nmodel.register_forward_hook(hook)",
    "import gc\ngc.collect()\ntorch.cuda.empty_cache()",
    "self.time = 3\nresults['time'] = 4",
    "%timeit model(x)\n!nvidia-smi",
    "torch.backends.cudnn.benchmark = True",
    "class Net(nn.Module):\n    def forward(self, x):\n        return self.fc(x)",
    "this is not python (",
]


@pytest.mark.parametrize("code", sorted(FLAGGED))
def test_tampering_is_flagged_with_what_it_does(code):
    findings = scan_cells([("cell", code)])
    assert FLAGGED[code] in [f.what for f in findings]


@pytest.mark.parametrize("code", LAB_CODE)
def test_ordinary_lab_code_is_not_flagged(code):
    assert scan_cells([("cell", code)]) == []


def test_a_finding_names_its_cell_and_line():
    (finding,) = scan_cells([("keras_code", "x = 1\n\nimport ctypes")])
    assert finding.text() == "imports ctypes (cell keras_code, line 3)"
