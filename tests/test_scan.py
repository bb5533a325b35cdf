"""The static scan of students' code: what it flags, and lab code it must leave alone."""

from __future__ import annotations

import pytest

from gpukit.pipeline.scan import scan_cells

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
    # The student runtime beyond what it exports: the clock's records, the loader's cache.
    "from gpukit_student.clock import CLOCK_READINGS":
        "reaches into the grader's gpukit_student.clock.CLOCK_READINGS",
    "import gpukit_student as g\ng.clock.CLOCK_READINGS.values.clear()":
        "reaches into the grader's gpukit_student.clock.CLOCK_READINGS",
    "from gpukit_student import data\ndata.loader._CACHE.clear()":
        "reaches into the grader's gpukit_student.data.loader",
    "import gpukit_student.data.loader": "reaches into the grader's gpukit_student.data.loader",
    "load_mnist.__globals__['_CACHE'].clear()":
        "reaches into the grader's gpukit_student.load_mnist.__globals__",
    "getattr(gpukit_student.clock, 'SYNC_COUNTER').calls = 0":
        "reaches into the grader's gpukit_student.clock.SYNC_COUNTER",
    "getattr(gpukit_student, name)": "reaches into the grader's gpukit_student with getattr()",
    "from gpukit.data import load_mnist": "imports gpukit.data",
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
    # The student runtime, as the setup cell teaches it and in other spellings.
    "from gpukit_student import load_mnist\n(x_train, y_train), (x_test, y_test) = load_mnist()",
    "import gpukit_student\ndata = gpukit_student.load_fashion_mnist()",
    "import gpukit_student as g\ng.data.load_mnist()",
    "from gpukit_student.data import load_fashion_mnist",
    "from gpukit_student.clock import install_cell_clock",
    "from gpukit_student import DatasetError\ntry:\n    load_mnist()\nexcept DatasetError as e:\n"
    "    print(e.hint)",
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
