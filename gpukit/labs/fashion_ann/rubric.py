"""Grading criteria for lab 3's written questions (rendered into solutions/RUBRIC.md)."""

QUESTIONS = [
    {
        "id": "q_softmax",
        "title": "Question 1 — logits, not softmax, before CrossEntropyLoss",
        "criteria": [
            "nn.CrossEntropyLoss takes raw logits and applies log-softmax itself (with the "
            "negative log-likelihood, in a numerically stable way)",
            "a softmax before it applies softmax twice: the loss sees values squashed into [0, 1], "
            "so predictions cannot become confident and gradients shrink; training is slower and "
            "ends worse (the argmax, hence accuracy, may hide it)",
            "probabilities, when needed, come from torch.softmax(logits, dim=1) at inference; the "
            "predicted class is the argmax of the logits",
        ],
        "errors": [
            "says the softmax is needed for the loss, or that CrossEntropyLoss expects "
            "probabilities",
            "says a softmax before the loss makes no difference at all",
        ],
    },
    {
        "id": "q_eval_no_grad",
        "title": "Question 2 — model.eval() and torch.no_grad()",
        "criteria": [
            "model.eval() switches dropout off and makes batch normalization use its running "
            "statistics; it does not disable gradients",
            "torch.no_grad() stops autograd recording: no graph or saved activations, less "
            "memory and time; it does not change layer behaviour",
            "without eval(): wrong, non-reproducible predictions with dropout/batch norm; without "
            "no_grad(): correct results but wasted memory (possible out-of-memory) and time",
        ],
        "errors": [
            "treats the two as the same thing, or says either one alone is enough",
            "says model.eval() turns off gradient computation",
        ],
    },
    {
        "id": "q_multi_gpu",
        "title": "Question 3 — DataParallel and DistributedDataParallel",
        "criteria": [
            "DataParallel (one process) replicates the model from GPU 0 at every forward pass, "
            "splits the batch across the GPUs, runs the pieces in parallel and gathers outputs "
            "(and gradients) on GPU 0",
            "it scales poorly: per-step replication, one Python process (GIL), GPU 0 as a "
            "bottleneck",
            "DistributedDataParallel runs one process per GPU with its own model copy and data "
            "shard and all-reduces gradients overlapped with backward; recommended by PyTorch, "
            "works across machines, launched with torchrun",
            "says what prepare_model did on the student's own machine (consistent with its GPU "
            "count)",
        ],
        "errors": [
            "says DataParallel splits the model's layers across GPUs (model parallelism)",
            "says DistributedDataParallel needs several machines",
        ],
    },
]
