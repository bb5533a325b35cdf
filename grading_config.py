"""The one file an instructor edits: the course, its labs, points, thresholds and limits.

Every field is described in gpukit/config.py; `gpukit config` prints them all with their current
values. After editing, run `gpukit release` to render and release the notebooks again.
"""

from gpukit.config import (
    Course,
    CpuGpuLab,
    CpuGpuPoints,
    FashionAnnLab,
    FashionAnnPoints,
    GpuBasicsLab,
    GpuBasicsPoints,
    MnistLab,
    MnistPoints,
)

config = Course(
    course_id="gpu-training",
    # <data_dir>/mnist/ and <data_dir>/fashion-mnist/ hold each dataset's four IDX files (.gz or
    # not). Relative to this file; the environment variable GPUKIT_DATA_DIR overrides it.
    # `gpukit data fetch mnist` (and fashion-mnist) fills it.
    data_dir="../shared/data",
    gpu_policy="prefer",  # "require", "prefer" or "ignore"
    cell_timeout_s=120,
    notebook_timeout_s=900,
    assignments=[
        MnistLab(
            name="lab1_mnist",
            epochs=5,
            keras_accuracy_threshold=0.97,
            torch_accuracy_threshold=0.97,
            points=MnistPoints(),  # e.g. MnistPoints(keras_accuracy=6) to reweigh a check
        ),
        GpuBasicsLab(
            name="lab2_gpu_basics",
            memory_tensor_mb=15,  # the tensor measure_allocation() creates, in MB
            points=GpuBasicsPoints(),  # e.g. GpuBasicsPoints(forward_on=4) to reweigh a check
        ),
        FashionAnnLab(
            name="lab3_fashion_ann",
            epochs=5,
            batch_size=64,
            learning_rate=1e-3,
            # Published MLPs reach about 0.87-0.89 on Fashion-MNIST: see `gpukit config`.
            accuracy_threshold=0.85,
            points=FashionAnnPoints(),
        ),
        CpuGpuLab(
            name="lab4_cpu_vs_gpu",
            batch_size=64,
            train_batches=20,  # fixed: CPU training stays short on any dataset size
            inference_batch_size=256,
            inference_batches=10,
            sweep_batch_sizes=[32, 64, 128, 256],
            sweep_batches=5,
            points=CpuGpuPoints(),
        ),
    ],
)
