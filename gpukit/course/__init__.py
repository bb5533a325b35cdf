"""The course directory, shared by releasing (gpukit/release/) and grading (gpukit/batch/):
where things live in it (layout.py), nbgrader's settings derived from grading_config.py
(nbgrader_settings.py), and the nbgrader commands run in it (nbgrader_steps.py)."""
