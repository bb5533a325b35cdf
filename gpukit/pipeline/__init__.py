"""nbgrader's autograde pipeline as the kit configures it, the same for every door.

nbgrader_settings.py fills nbgrader's configuration from grading_config.py (the course's
nbgrader_config.py is a shim that calls it): the kit's preprocessors (preprocessors.py: rebuild
on the release (rebuild.py), scan for tampering (scan.py), execute within limits in the
sandboxed kernel, verify every check's outcome, hold for review (review.py)) and the feedback
exporter (feedback_exporter.py). `gpukit grade` (gpukit/batch/), `nbgrader autograde` and
formgrader all grade through it; plain_pytest.py runs the course's autograder/ on one notebook
with the same rebuild and kernel.
"""
