"""Grading criteria for lab 4's written questions (rendered into solutions/RUBRIC.md)."""

QUESTIONS = [
    {
        "id": "q_speedup",
        "title": "Question 1 — the CPU and GPU times, warm-up and synchronization",
        "criteria": [
            "states the measured speed-ups (or that there was no GPU) and which is larger",
            "explains the GPU's advantage by the parallel arithmetic of convolutions and matrix "
            "products (many cores, memory bandwidth)",
            "relates the difference between training and inference to the work per step (backward "
            "and optimizer, batch sizes) and to fixed per-step costs that a small workload "
            "cannot hide",
            "warm-up excludes one-time costs (CUDA context, cuDNN algorithm choice, first "
            "allocations); synchronize because CUDA calls return when the work is queued, so the "
            "clock would stop before the GPU finished",
        ],
        "errors": [
            "says synchronize makes the GPU faster, or that it is only needed for inference",
            "numbers that contradict the student's own Part 2 outputs",
        ],
    },
    {
        "id": "q_amp",
        "title": "Question 2 — mixed precision",
        "criteria": [
            "autocast runs safe operations (convolutions, matrix products) in float16/bfloat16 "
            "and keeps sensitive ones (reductions, loss) and the weights in float32",
            "faster because half the memory traffic and tensor cores compute 16-bit products "
            "several times faster",
            "the GradScaler scales the loss so small float16 gradients do not underflow, unscales "
            "before the step and skips overflowing steps; bfloat16 needs none",
            "reports what the student observed (often no gain on a CPU)",
        ],
        "errors": [
            "says AMP stores the model's weights in float16 only, or that it lowers the accuracy "
            "by design",
            "says the scaler changes the learning rate",
        ],
    },
    {
        "id": "q_batch_size",
        "title": "Question 3 — throughput against batch size",
        "criteria": [
            "describes the measured trend: throughput rises with the batch size and levels off",
            "fixed per-step costs are shared by more images and larger operations use the "
            "hardware's parallelism better; once the device is saturated time grows with the batch",
            "memory bounds the batch size (activations grow with it)",
            "a larger batch also changes optimization: fewer, less noisy steps per epoch, the "
            "learning rate must be adapted, generalization can suffer",
        ],
        "errors": [
            "says a larger batch always trains better or always faster per epoch without limit",
        ],
    },
]
