"""The export methods of ``backprop.Network`` (``to_onnx``, ``to_c``,
``to_torch``, ``from_torch``): each imports its module of ``backprop.export``
when called, so that a network that is never exported loads none of them."""


class ExportMethods:
    """What ``Network`` can be exported to and made from."""

    def to_onnx(self, path=None, opset=17, dtype=None):
        """The network as an ONNX model of ``dtype`` (by default the
        network's), written to ``path`` if given (``backprop.export.to_onnx``;
        needs onnx)."""
        from .export._onnx import to_onnx

        return to_onnx(self, path, opset=opset, dtype=dtype)

    def to_c(self, path=None, name="mynet"):
        """A C99 header whose ``NAME_predict`` gives ``predict``'s bits (in the
        network's dtype), written to ``path`` if given; returns its text
        (``backprop.export.to_c``)."""
        from .export._c import to_c

        return to_c(self, path, name=name)

    def to_torch(self, dtype=None):
        """The network as a ``torch.nn.Sequential`` of Linear and activation
        modules of ``dtype`` (by default the network's;
        ``backprop.export.to_torch``; needs torch)."""
        from .export._torch import to_torch

        return to_torch(self, dtype=dtype)

    @classmethod
    def from_torch(cls, module, *, loss="squared", train_bias=None, seed=None, dtype="float64"):
        """A Network with the layers and parameters of ``module``, copied to ``dtype``.

        module:      an ``nn.Sequential`` of ``nn.Linear`` modules, each followed by
                     at most one activation module (none is the identity), as
                     ``to_torch`` makes
        loss:        the Network's loss (a module does not hold one)
        train_bias:  whether the Network trains its biases; by default, whether the
                     Linear biases require grad (all alike)
        seed:        the Network's seed (for its shuffling)
        dtype:       the Network's type, "float64" (default) or "float32"

        The bias policy is "neuron" when every Linear has a bias, "none" when
        none has (``backprop.export.from_torch`` is the same function)."""
        from .export._torch import torch_layers

        return cls.from_weights(**torch_layers(module, train_bias), loss=loss, seed=seed,
                                dtype=dtype)
