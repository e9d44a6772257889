# The integer codes of activations, losses and optimisers that the Python
# layer resolves names to; the status codes the compiled calls return; and
# the exception the Python layer raises for a non-finite result.

ACTIVATIONS = {
    "logistic": BP_LOGISTIC,
    "tanh": BP_TANH,
    "relu": BP_RELU,
    "leaky_relu": BP_LEAKY_RELU,
    "identity": BP_IDENTITY,
    "softmax": BP_SOFTMAX,
}
LOSSES = {"squared": BP_SQUARED, "cross_entropy": BP_CROSS_ENTROPY, "huber": BP_HUBER}
OPTIMIZERS = {"sgd": BP_SGD, "adam": BP_ADAM}
STATUS_OK = BP_OK
STATUS_NONFINITE_LOSS = BP_NONFINITE_LOSS
STATUS_NONFINITE_PARAMS = BP_NONFINITE_PARAMS


if BP_REAL_IS_FLOAT32:
    # One class for both dtypes: backprop._core32 raises backprop._core's.
    from backprop._core import DivergenceError
else:
    class DivergenceError(FloatingPointError):
        """Training produced a non-finite loss or non-finite parameters.

        The network is left in, or restored to, its last finite state.  For a
        ``train`` call, ``epoch`` is the epoch (of that call) in which it happened,
        ``restored_epoch`` the number of its epochs whose result the network
        kept, and ``history`` their History; for ``learn_one`` they are None."""

        def __init__(self, message, epoch=None, restored_epoch=None, history=None):
            super().__init__(message)
            self.epoch = epoch
            self.restored_epoch = restored_epoch
            self.history = history
