"""Grading criteria for lab 2's written questions (rendered into solutions/RUBRIC.md)."""

QUESTIONS = [
    {
        "id": "q_same_device",
        "title": "Question 1 — model and input on one device; .to for tensors and models",
        "criteria": [
            "an operation's operands must be in the memory of the device that computes it: the "
            "weights and the input meet in one kernel, on one device",
            "PyTorch does not copy implicitly because host–GPU transfers are slow and where data "
            "lives is the programmer's decision (silent copies would hide a performance bug)",
            "tensor.to(device) returns a moved tensor and leaves the original, so the result must "
            "be kept (x = x.to(device)); model.to(device) moves the parameters in place",
        ],
        "errors": [
            "says PyTorch moves the input automatically, or that the mismatch only slows things "
            "down",
            "says tensor.to(device) moves the tensor in place (or that model.to must be assigned "
            "for it to work, as if it returned a copy)",
        ],
    },
    {
        "id": "q_empty_cache",
        "title": "Question 2 — del, the caching allocator and empty_cache()",
        "criteria": [
            "the caching allocator keeps freed memory reserved for reuse (allocating from the "
            "driver is slow), so after del the memory is no longer allocated but still reserved, "
            "which is what nvidia-smi shows",
            "empty_cache() returns cached, unused blocks to the driver (memory_reserved drops; "
            "other processes can use them)",
            "it does not free tensors that are still referenced (variables, containers, output "
            "history, autograd graph, optimizer state), does not change memory_allocated, and "
            "does not release the CUDA context",
            "calling it in a training loop gives PyTorch no extra memory and only slows training",
        ],
        "errors": [
            "says empty_cache() frees the memory of live tensors or fixes an out-of-memory error "
            "caused by tensors still in use",
            "says del t always frees the memory, whatever else refers to the tensor",
            "numbers that contradict the student's own Part 4 outputs",
        ],
    },
]
