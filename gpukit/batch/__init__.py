"""`gpukit grade`: a batch of submissions, graded outside the kernels, one job per submission.

stages.py runs a batch as BATCH_STAGES over one Batch value, in order:

1. discover: the submissions of a folder (submissions.py), the kernels' walls, the runner;
2. check_before_grading: the autograder/ is the released one; pre-flight (preflight.py) proves
   the grading environment (data, sandbox, GPU policy);
3. make_template: the course a job grades in (job.py);
4. grade_canary: the lab's own solution, graded as a submission, must get full marks;
5. grade_submissions: one job per submission (job.py, JOB_STEPS), which local workers or Ray run
   (runners.py), through nbgrader in nbgrader_job.py with the kit's pipeline
   (gpukit/pipeline/); the one writer (writer.py) merges each result into the course's gradebook
   and writes the outputs (records.py, gradebook.py) as results arrive.

Inside the kernel, the hidden checks are gpukit/grading/'s; nbgrader's configuration and the
kit's preprocessors, which every door shares, are gpukit/pipeline/'s.
"""
