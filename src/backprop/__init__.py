"""backprop: multilayer perceptrons trained by backpropagation in a compiled core."""

__version__ = "0.1.0"
