"""Every kit lab's sample class, graded end to end (tests/lab_tier.py): one test class per lab of
the registry, its expectations in the lab's fixtures/expected.py. A lab added to the registry
is tested here without a line of its own."""

from __future__ import annotations

import pytest

from gpukit.demo.sample_class import expected_of
from gpukit.labs import KIT_LABS
from tests.lab_tier import HeldForReview, LabTier

pytestmark = pytest.mark.slow

for _lab in KIT_LABS:
    _id = _lab().lab_id
    _name = "Test" + "".join(part.title() for part in _id.split("_")) + "SampleClass"
    _expected = expected_of(_lab)
    _bases = (LabTier, HeldForReview) if hasattr(_expected, "INTEGRITY_MESSAGES") else (LabTier,)
    globals()[_name] = type(_name, _bases, {"lab_id": _id, "expected": _expected})
