"""Releasing a course: lab templates -> nbgrader masters in source/ -> release/ for students,
solutions/ with the graders' rubric (release.py), the student runtime's wheel beside them, and
autograder/ with the hidden checks that grade (autograder.py).

Nothing here grades: that is gpukit/batch/. Both work in a course directory laid out as
gpukit/course/layout.py says, through the nbgrader settings of gpukit/course/.
"""
