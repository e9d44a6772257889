"""Tracing one online step: every intermediate, from the compiled core's
own workspace after the step (the numbers a learner checks come from the code
that trains)."""
import numpy as np

from . import _core
from ._targets import check_targets
from ._validate import as_samples
from .results import History, Trace, TraceLayer


def trace(net, x, t, lr):
    """``Network.trace``: the Trace of one online step of ``net`` on (x, t),
    taken on a copy of its compiled model."""
    x2, _ = as_samples(x, "x", net._sizes[0], "inputs", net._dtype)
    t2, _ = as_samples(t, "t", net._sizes[-1], "outputs", net._dtype)
    if x2.shape[0] != 1 or t2.shape[0] != 1:
        raise ValueError(f"trace takes one sample: x and t must be 1-D, got shapes "
                         f"{np.shape(x)} and {np.shape(t)}")
    check_targets(net, t2, "t", fitting=True)
    lr = net._lr_now(lr)
    x, t = x2[0], t2[0]
    # the copy is taken under the network's hold: refused while another thread trains it
    token = net._model.hold("trace")
    try:
        model = net._model.copy()
    finally:
        if token:
            net._model.unlock(token)
    before = model.params.copy()
    status, E = model.capture_step(x, t, lr)
    if status != _core.STATUS_OK:
        raise _core.DivergenceError(f"trace: the loss of this sample is {E} (the network's "
                                    "outputs overflowed); nothing to trace", epoch=net._epochs,
                                    restored_epoch=net._epochs, history=History())
    z, out, d_out, d_act, delta, errors, grad = (a.copy() for a in model.work)
    after = np.empty(1, dtype=net._dtype)
    model.sample_losses(x2, t2, after)
    w_off, b_off, n_bias = net._model.offsets
    u_off = net._model.u_offsets
    layers = []
    for l in range(len(net._sizes) - 1):
        n_in, n_out = net._sizes[l], net._sizes[l + 1]
        u = slice(u_off[l], u_off[l] + n_out)
        w = slice(w_off[l], w_off[l] + n_out * n_in)
        b = slice(b_off[l], b_off[l] + n_bias[l])
        layers.append(TraceLayer(
            input=x.copy() if l == 0 else out[u_off[l - 1]:u_off[l - 1] + n_in],
            net=z[u], out=out[u], d_out=d_out[u],
            d_act=None if net._activations[l][0] == "softmax" else d_act[u],
            delta=delta[u],
            grad_weights=grad[w].reshape(n_out, n_in), grad_biases=grad[b],
            weights=before[w].reshape(n_out, n_in), biases=before[b],
            new_weights=model.params[w].reshape(n_out, n_in).copy(),
            new_biases=model.params[b].copy()))
    return Trace(x=x.copy(), t=t.copy(), lr=lr, output=out[u].copy(), errors=errors,
                 error=float(E), error_after=float(after[0]), layers=tuple(layers))
