"""Every kit lab's sample class, graded end to end (tests/lab_tier.py): one test class per lab of
the registry, its expectations in the lab's fixtures/expected.py. A lab added to the registry
is tested here without a line of its own."""

from __future__ import annotations

import importlib

import pytest

from gpukit.labs import KIT_LABS
from tests.lab_tier import LabTier

pytestmark = pytest.mark.slow

for _lab in KIT_LABS:
    _id = _lab().lab_id
    _name = "Test" + "".join(part.title() for part in _id.split("_")) + "SampleClass"
    globals()[_name] = type(_name, (LabTier,), {
        "lab_id": _id,
        "expected": importlib.import_module(f"{_lab.__module__}.fixtures.expected"),
    })
