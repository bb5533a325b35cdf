"""Grading criteria for the core lab's written questions (rendered into solutions/RUBRIC.md)."""

QUESTIONS = [
    {
        "id": "q_normalize",
        "title": "Question 1 — why scale inputs to [0, 1]",
        "criteria": [
            "inputs on a small, common scale keep pre-activations and gradients well-scaled",
            "this speeds up and stabilises optimisation (better conditioning; one learning rate "
            "suits all weights)",
        ],
        "errors": [
            "claims scaling changes what the model can represent or increases the information "
            "in the data",
            "confuses scaling the inputs with normalising the output probabilities (softmax)",
        ],
    },
    {
        "id": "q_relu",
        "title": "Question 2 — the role of ReLU",
        "criteria": [
            "ReLU is max(0, x), applied element-wise",
            "it makes the network non-linear: without it the stacked linear layers collapse into "
            "one linear map",
            "(either) it is cheap and does not saturate for positive inputs, easing vanishing "
            "gradients",
        ],
        "errors": [
            "says ReLU turns outputs into probabilities (that is softmax)",
            "says ReLU prevents overfitting",
        ],
    },
    {
        "id": "q_gpu",
        "title": "Question 3 — why GPUs for training",
        "criteria": [
            "training is dominated by matrix multiplications and element-wise operations that are "
            "massively parallel",
            "GPUs have many more cores and much higher memory bandwidth than CPUs",
            "(either) the speed-up needs enough work per step: small models or batches are limited "
            "by overhead and transfers",
        ],
        "errors": [
            "says GPUs make the model more accurate",
            "says GPUs are faster at every task, including sequential, branchy code",
        ],
    },
    {
        "id": "q_compare",
        "title": "Question 4 — comparing the frameworks",
        "criteria": [
            "reports which framework trained faster and that both reach a similar accuracy, "
            "consistent with the student's own outputs",
            "explains the time difference by the setups (batch size and number of steps, compiled "
            "graph vs. eager execution, per-step overhead), not by one framework being 'better'",
        ],
        "errors": [
            "numbers that contradict the student's own notebook outputs",
            "a general verdict from one single run without caveats",
        ],
    },
]
