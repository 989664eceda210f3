"""manual_bp: the documents' delta-rule backpropagation, by hand, in NumPy.

Quick use::

    import manual_bp as bp
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy")
    params = bp.init_params(net, seed=0)
    grads = bp.gradients(net, params, x, y)        # [(dW1, db1), (dW2, db2)]
    params = bp.sgd_step(params, grads, lr=0.1)

No autodiff and no finite differences anywhere in this package: the
``reference`` package checks it against JAX and numerical derivatives.
"""
from .activations import (
    ACTIVATIONS,
    ELU,
    GELU,
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Swish,
    Tanh,
    get_activation,
    register_activation,
)
from .backprop import deltas, forward, gradients, input_gradient, loss, loss_and_gradients, predict
from .losses import LOSSES, BinaryCrossEntropy, CrossEntropy, Loss, SquaredError, get_loss, register_loss
from .network import INIT_SCHEMES, REDUCTIONS, Network, init_params
from .perceptron import (
    PerceptronResult,
    perceptron_criterion,
    perceptron_features,
    perceptron_gradient,
    perceptron_predict,
    step,
    train_perceptron,
)
from .training import TrainResult, sgd_step, train

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # network spec
    "Network", "init_params", "REDUCTIONS", "INIT_SCHEMES",
    # activations and losses
    "Activation", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax",
    "Softplus", "ELU", "Swish", "GELU",
    "ACTIVATIONS", "get_activation", "register_activation",
    "Loss", "SquaredError", "CrossEntropy", "BinaryCrossEntropy", "LOSSES", "get_loss", "register_loss",
    # the delta rule
    "forward", "predict", "loss", "deltas", "gradients", "loss_and_gradients", "input_gradient",
    # training
    "sgd_step", "train", "TrainResult",
    # perceptron (document 003)
    "step", "perceptron_features", "perceptron_predict", "perceptron_criterion",
    "perceptron_gradient", "train_perceptron", "PerceptronResult",
]
