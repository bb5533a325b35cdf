"""What an instructor reads after grading: the class report, and the files LMSs import.

Everything here starts from :func:`gpukit.reports.classbook.load_class`, which joins nbgrader's
gradebook (the scores, manual ones included) with the records `gpukit grade` wrote (statuses,
messages, what each check measured). Nothing here grades or re-scores.
"""
