"""gpukit: an autograded nbgrader assignment kit for courses on training neural networks on GPUs."""

__version__ = "0.1.0"
