"""The one file an instructor edits: the course, its labs, points, thresholds and limits.

Every field is described in gpukit/config.py (the course) and gpukit/labs/<lab>/__init__.py (each
lab); `gpukit config` prints them all with their current values. After editing, run
`gpukit release` to render and release the notebooks again.
"""

from gpukit.config import Course
from gpukit.labs import core_mnist, cpu_vs_gpu, fashion_ann, gpu_basics

config = Course(
    course_id="gpu-training",
    # <data_dir>/mnist/ and <data_dir>/fashion-mnist/ hold each dataset's four IDX files (.gz or
    # not). Relative to this file; the environment variable GPUKIT_DATA_DIR overrides it.
    # `gpukit data fetch mnist` (and fashion-mnist) fills it.
    data_dir="../shared/data",
    gpu_policy="prefer",  # "require", "prefer" or "ignore"
    cell_timeout_s=120,
    notebook_timeout_s=900,
    # `gpukit similarity` (and the class report) lists two submissions when at least this share
    # of what one student wrote themselves (code, or written answers; the release's given code
    # and instructions never count) matches the other's. 0.5: half or more. It changes no grade.
    similarity_threshold=0.5,
    assignments=[
        core_mnist.Lab(
            name="core_mnist",
            epochs=5,
            keras_accuracy_threshold=0.97,
            torch_accuracy_threshold=0.97,
            points=core_mnist.Points(),  # e.g. core_mnist.Points(keras_accuracy=6) to reweigh
        ),
        gpu_basics.Lab(
            name="gpu_basics",
            memory_tensor_mb=15,  # the tensor measure_allocation() creates, in MB
            points=gpu_basics.Points(),  # e.g. gpu_basics.Points(forward_on=4) to reweigh
        ),
        fashion_ann.Lab(
            name="fashion_ann",
            epochs=5,
            batch_size=64,
            learning_rate=1e-3,
            # Published MLPs reach about 0.87-0.89 on Fashion-MNIST: see `gpukit config`.
            accuracy_threshold=0.85,
            points=fashion_ann.Points(),
        ),
        cpu_vs_gpu.Lab(
            name="cpu_vs_gpu",
            batch_size=64,
            train_batches=20,  # fixed: CPU training stays short on any dataset size
            inference_batch_size=256,
            inference_batches=10,
            sweep_batch_sizes=[32, 64, 128, 256],
            sweep_batches=5,
            points=cpu_vs_gpu.Points(),
        ),
    ],
)
