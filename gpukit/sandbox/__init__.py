"""The walls around a grading kernel: limits, isolation and a supervisor outside the kernel.

nbgrader starts every grading kernel through the ``gpukit-sandbox`` kernelspec
(kernelspec.py), whose command is ``python -m gpukit.sandbox.kernel``. That process
(kernel.py) enters its own network and mount namespaces (isolation.py), then forks: the child
becomes the IPython kernel, the parent stays behind as its supervisor, enforcing the memory and
process limits over the whole process tree (processes.py) and capping what the kernel writes to
the grader's log. The limits come from grading_config.py through one environment variable
(settings.py). THREAT_MODEL.md says what this defends and what it does not.
"""
