"""pytest autograder/cpu_vs_gpu [--notebook PATH]: execute the notebook (the solution
without --notebook) in a grading kernel and report each hidden check with its points.

Written by `gpukit release` from the kit's gpukit/labs/cpu_vs_gpu/checks.py
and grading_config.py: change those, then run `gpukit release`; never edit this file.
"""

from gpukit.pipeline.plain_pytest import pytest_pycollect_makemodule  # noqa: F401
