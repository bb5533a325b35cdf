"""Grading submissions outside the kernels: `gpukit grade`'s batch, one submission at a time.

The stages, in order:

1. grade.py: find the submissions of a folder; preflight.py: prove the grading environment (data,
   sandbox, GPU policy), then grade the lab's own solution as a canary;
2. job.py: grade one submission as a self-contained job (JOB_STEPS), which local workers or Ray
   run (runners.py), through nbgrader's pipeline in nbgrader_job.py, where the kit's steps are
   nbgrader preprocessors (preprocessors.py: rebuild on the release (sanitize.py), scan for
   tampering (scan.py), execute within limits, verify every check's outcome, hold for review);
3. writer.py: the one writer merges each result into the course's gradebook and writes the
   outputs (records.py, grades.py) as results arrive.

Inside the kernel, the hidden checks are gpukit/grading/'s; releasing is gpukit/release/'s.
"""
