"""The behavioural architecture check: every spelling of the specified network passes, every
mistake fails with its own sentence, whatever the spelling (gpukit/grading/architecture.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gpukit.grading.architecture import (
    MAX_POOL,
    RELU,
    Conv2d,
    Linear,
    Network,
    check_model,
    computing_module,
    differs_on_data,
    looks_like_probabilities,
    model_outputs,
    recomputed_outputs,
)

MLP = Network("MnistMLP", (Linear(784, 128), RELU, Linear(128, 10)), (28, 28))
ANN = Network("FashionANN", (Linear(784, 256), RELU, Linear(256, 128), RELU, Linear(128, 10)),
              (28, 28))
CNN = Network("AlexNetStyle", (Conv2d(1, 64, 3, 1), RELU, MAX_POOL, Conv2d(64, 128, 3, 1), RELU,
                               MAX_POOL, Linear(6272, 512), RELU, Linear(512, 10)), (1, 28, 28))


def _message(model: nn.Module, network: Network) -> str | None:
    problem = check_model(model, network)
    assert problem is None or not problem.integrity
    return problem.message if problem else None


# --------------------------------------------------------------------------- the MLP of lab 1


class SequentialMLP(nn.Module):  # the reference solution's style
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                                    nn.Linear(128, 10))

    def forward(self, x):
        return self.layers(x)


class SeedStyleMLP(nn.Module):  # the course's seed code: attributes, torch.relu, view
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


class DeclaredBackwardsMLP(nn.Module):  # layers declared in another order than they are called
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.2)  # identity in evaluation mode
        self.hidden = nn.Linear(784, 128)

    def forward(self, x):
        return self.out(self.drop(F.relu(self.hidden(torch.flatten(x, start_dim=1)))))


class WrappedMLP(nn.Module):  # a wrapper module and an nn.Identity: same function
    def __init__(self):
        super().__init__()
        self.body = nn.ModuleDict({"net": SequentialMLP(), "skip": nn.Identity()})

    def forward(self, x):
        return self.body["skip"](self.body["net"](x))


class FunctionalSoftmaxMLP(SeedStyleMLP):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


class ModuleLogSoftmaxMLP(SequentialMLP):
    def __init__(self):
        super().__init__()
        self.layers.append(nn.LogSoftmax(dim=1))


class NoReluMLP(SeedStyleMLP):
    def forward(self, x):
        return self.fc2(self.fc1(x.view(-1, 784)))


class WideMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                                 nn.Linear(256, 10))

    def forward(self, x):
        return self.net(x)


class StandardisesInputMLP(SeedStyleMLP):  # pytorch/examples' normalisation, inside forward
    def forward(self, x):
        return super().forward((x - 0.1307) / 0.3081)


class Float64ModuleListMLP(nn.Module):  # float64 weights in a ModuleList, the input cast to them
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(784, 128), nn.Linear(128, 10)]).double()

    def forward(self, x):
        x = x.flatten(1).to(self.layers[0].weight.dtype)
        return self.layers[1](torch.relu(self.layers[0](x)))


class ScratchMLP(nn.Module):  # d2l's MLP from scratch: nn.Parameter matrices, X @ W + b
    def __init__(self, num_inputs=784, num_outputs=10, num_hiddens=128, sigma=0.01):
        super().__init__()
        self.num_inputs = num_inputs
        self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.randn(num_hiddens) * sigma)
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X):
        X = X.reshape((-1, self.num_inputs))
        H = torch.max(X @ self.W1 + self.b1, torch.zeros_like(self.b1))  # d2l's relu
        return H @ self.W2 + self.b2


def compiled_mlp():  # the torch.compile tutorial's idiom (compiled lazily, at the first call)
    return torch.compile(SeedStyleMLP())


class ScratchMLPWithoutRelu(ScratchMLP):
    def forward(self, X):
        X = X.reshape((-1, self.num_inputs))
        return (X @ self.W1 + self.b1) @ self.W2 + self.b2


class ScaledEachImageMLP(SeedStyleMLP):  # not a fixed scaling: depends on the image
    def forward(self, x):
        return super().forward(x / x.flatten(1).amax(dim=1)[:, None, None])


class SigmoidMLP(SeedStyleMLP):
    def forward(self, x):
        return self.fc2(torch.sigmoid(self.fc1(x.view(-1, 784))))


@pytest.mark.parametrize("model", [SequentialMLP, SeedStyleMLP, DeclaredBackwardsMLP,
                                   WrappedMLP, StandardisesInputMLP, Float64ModuleListMLP,
                                   ScratchMLP, compiled_mlp], ids=lambda c: c.__name__)
def test_every_spelling_of_the_mlp_passes(model):
    assert _message(model(), MLP) is None


@pytest.mark.parametrize(("model", "sentence"), [
    (FunctionalSoftmaxMLP, "MnistMLP must return logits, not probabilities"),
    (ModuleLogSoftmaxMLP, "MnistMLP must return logits, not log-probabilities"),
    (NoReluMLP, "MnistMLP must apply ReLU after Linear(784, 128)."),
    (WideMLP, "MnistMLP must have the layers Linear(784, 128), Linear(128, 10), in this order "
              "(it has Linear(784, 256), Linear(256, 10))."),
    (ScratchMLPWithoutRelu, "MnistMLP must apply ReLU after Linear(784, 128)."),
    (ScaledEachImageMLP, "MnistMLP's output is not what Linear(784, 128) → ReLU → "
                         "Linear(128, 10) computes with its own weights"),
    (SigmoidMLP, "MnistMLP's output is not what Linear(784, 128) → ReLU → Linear(128, 10) "
                 "computes with its own weights"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_each_mistake_fails_with_its_sentence(model, sentence):
    message = _message(model(), MLP)
    assert message is not None and message.startswith(sentence), message


def test_the_students_model_is_left_as_it_was():
    model = SeedStyleMLP().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _message(model, MLP)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_model_that_raises_is_reported():
    class Broken(SeedStyleMLP):
        def forward(self, x):
            return self.fc2(x)  # forgot fc1: shapes do not fit

    message = _message(Broken(), MLP)
    assert message.startswith("MnistMLP() raised RuntimeError")


# --------------------------------------------------------------------------- the ANN of lab 3


class FunctionalANN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x.reshape(len(x), -1)))
        return self.fc3(F.relu(self.fc2(x)))


class MissingSecondReluANN(FunctionalANN):
    def forward(self, x):
        return self.fc3(self.fc2(F.relu(self.fc1(x.flatten(1)))))


class WrongSizeInSequentialANN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stack = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                                   nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.stack(x)


def test_functional_ann_passes_and_its_mistakes_fail():
    assert _message(FunctionalANN(), ANN) is None
    assert _message(MissingSecondReluANN(), ANN) == \
        "FashionANN must apply ReLU after Linear(256, 128)."
    assert _message(WrongSizeInSequentialANN(), ANN).startswith(
        "FashionANN must have the layers Linear(784, 256), Linear(256, 128), Linear(128, 10)")


def test_a_data_parallel_wrapper_is_looked_through():
    assert _message(nn.DataParallel(FunctionalANN()), ANN) is None


# --------------------------------------------------------------------------- the CNN of lab 4


class ModuleCNN(nn.Module):
    def __init__(self, pool: type[nn.Module] = nn.MaxPool2d, padding="1"):
        super().__init__()
        pad = 1 if padding == "1" else padding
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 3, padding=pad), nn.ReLU(), pool(2),
            nn.Conv2d(64, 128, 3, padding=pad), nn.ReLU(), pool(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(6272, 512), nn.ReLU(),
                                        nn.Linear(512, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class TutorialCNN(nn.Module):  # PyTorch's own tutorial style: F.relu and F.max_pool2d
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(64, 128, kernel_size=(3, 3), padding=(1, 1))
        self.fc1 = nn.Linear(128 * 7 * 7, 512)
        self.fc2 = nn.Linear(512, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class FirstPoolMissingCNN(TutorialCNN):
    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(F.max_pool2d(x, 2).flatten(1))))


@pytest.mark.parametrize("model", [lambda: ModuleCNN(), TutorialCNN,
                                   lambda: ModuleCNN(padding="same")],
                         ids=["modules", "functional", "padding-same"])
def test_every_spelling_of_the_cnn_passes(model):
    assert _message(model(), CNN) is None


def test_cnn_mistakes_fail_with_their_sentence():
    assert _message(ModuleCNN(pool=nn.AvgPool2d), CNN) == \
        "AlexNetStyle must max-pool (2×2) after each convolution block, not average-pool."
    # The first pool moved after the second convolution: the shapes fit, the function differs.
    assert _message(FirstPoolMissingCNN(), CNN).startswith(
        "AlexNetStyle's output is not what Conv2d(1, 64, 3, padding=1) → ReLU → MaxPool2d(2) → "
        "Conv2d(64, 128, 3, padding=1) → ReLU → MaxPool2d(2) → Linear(6272, 512) → ReLU → "
        "Linear(512, 10) computes with its own weights")


# --------------------------------------------------------------------------- probabilities


def test_probabilities_and_log_probabilities_are_recognised_logits_are_not():
    logits = torch.randn(8, 10)
    assert looks_like_probabilities(logits.softmax(dim=1))
    assert looks_like_probabilities(logits.log_softmax(dim=1))
    assert not looks_like_probabilities(logits)


# --------------------------------------------------------------------------- accuracy from weights

TEST_IMAGES = torch.rand(64, 28, 28, generator=torch.Generator().manual_seed(5))
TEST_LABELS = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(6))


class LooksUpTestImages(SeedStyleMLP):
    """Returns the true label's one-hot whenever the whole batch is test images (a dictionary
    built from the notebook's test set), and the real MLP's output otherwise."""

    def __init__(self):
        super().__init__()
        self.answers = {images.numpy().tobytes(): int(label)
                        for images, label in zip(TEST_IMAGES, TEST_LABELS, strict=True)}

    def forward(self, x):
        known = [self.answers.get(image.numpy().tobytes()) for image in x.cpu()]
        if all(label is not None for label in known):
            return F.one_hot(torch.tensor(known), 10).float() * 50
        return super().forward(x)


class NudgesTestImages(LooksUpTestImages):
    """Adds a constant to the right class's logit, only for test-set inputs."""

    def forward(self, x):
        out = SeedStyleMLP.forward(self, x)
        known = [self.answers.get(image.numpy().tobytes()) for image in x.cpu()]
        bonus = torch.zeros_like(out)
        for row, label in enumerate(known):
            if label is not None:
                bonus[row, label] = 3.0
        return out + bonus


def _accuracy(logits: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == TEST_LABELS).float().mean())


@pytest.mark.parametrize("cheat", [LooksUpTestImages, NudgesTestImages],
                         ids=lambda c: c.__name__)
def test_a_forward_that_recognises_test_images_is_caught(cheat):
    model = cheat()
    outputs = model_outputs(model, MLP, TEST_IMAGES, batch_size=16)
    assert _accuracy(outputs) > 0.9  # what the model's own output scores ...
    assert check_model(model, MLP) is None  # on the grader's random inputs it is the MLP ...
    problem = check_model(model, MLP, probe=TEST_IMAGES)  # ... but not on the test images
    assert problem.integrity and problem.message.startswith(
        "MnistMLP's output on the test images differs from what the network its own weights "
        "define computes")
    recomputed = recomputed_outputs(model, MLP, TEST_IMAGES, batch_size=16)
    assert differs_on_data(MLP, outputs, recomputed).integrity
    honest = SeedStyleMLP()
    honest.load_state_dict({k: v for k, v in model.state_dict().items()})
    with torch.no_grad():
        assert torch.allclose(recomputed, honest(TEST_IMAGES).double(), atol=1e-6)
    assert _accuracy(recomputed) < 0.5  # what its weights define scores


@pytest.mark.parametrize("model", [DeclaredBackwardsMLP, StandardisesInputMLP,
                                   Float64ModuleListMLP, ScratchMLP, compiled_mlp, WideMLP,
                                   FunctionalSoftmaxMLP, NoReluMLP, ScratchMLPWithoutRelu],
                         ids=lambda c: c.__name__)
def test_an_honest_model_is_measured_by_its_own_output(model):
    """Every spelling, and the usual mistakes (other sizes, a softmax at the end, a missing
    ReLU): the grader recomputes what the weights define, and it is the model's own output."""
    model = model()
    outputs = model_outputs(model, MLP, TEST_IMAGES, batch_size=16)
    with torch.no_grad():
        assert torch.allclose(outputs, computing_module(model).eval()(TEST_IMAGES).double())
    recomputed = recomputed_outputs(model, MLP, TEST_IMAGES, batch_size=16)
    assert recomputed is not None and differs_on_data(MLP, outputs, recomputed) is None


def test_an_unknown_network_is_measured_by_its_output_alone():
    model = SigmoidMLP()
    assert recomputed_outputs(model, MLP, TEST_IMAGES) is None
    outputs = model_outputs(model, MLP, TEST_IMAGES)
    assert differs_on_data(MLP, outputs, None) is None


def test_a_model_of_the_wrong_shape_is_a_failure_not_a_crash():
    class TwoOutputs(SeedStyleMLP):
        def forward(self, x):
            return super().forward(x)[:, :2]

    problem = model_outputs(TwoOutputs(), MLP, TEST_IMAGES)
    assert problem.message == "MnistMLP must map a (64, 28, 28) batch to (64, 10) logits (it " \
        "returns (64, 2))."
