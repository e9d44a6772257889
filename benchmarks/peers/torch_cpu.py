"""PyTorch on the CPU in float64, and in float32 (its default dtype): (a)
autograd and ``torch.optim.SGD``, the way its tutorials train, on one thread;
(b) the same algorithm in hand-written in-place tensor ops without autograd, on
one and on two threads (the matrix-sized workloads, W2 and W3). The float32
rows round the data and initial weights to float32 before the clock starts."""
import time

import numpy as np

import workloads
from peers import Row, Unavailable

IN_PLACE_WORKLOADS = {"W2", "W3"}


def probe():
    try:
        import torch
    except ImportError:
        raise Unavailable(
            "not installed: pip install torch==2.13.0 (the CPU build, from this machine's wheels)"
        ) from None
    return f"torch {torch.__version__}"


def rows(wl):
    rows = []
    for dtype, suffix, name in (("float64", "", "PyTorch"), ("float32", "-float32", "PyTorch float32")):
        rows.append(Row("torch", f"torch-autograd{suffix}", f"{name} autograd + optim.SGD, 1 thread",
                        dtype=dtype))
        if wl.name in IN_PLACE_WORKLOADS:
            rows += [
                Row("torch", f"torch-inplace-{n}{suffix}",
                    f"{name} in-place ops, no autograd, {n} thread{'s' * (n > 1)}", threads=n, dtype=dtype)
                for n in (1, 2)
            ]
    return rows


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        import torch

        torch.set_num_threads(row.threads)
        self.torch, self.wl, self.autograd = torch, wl, row.key.startswith("torch-autograd")
        self.dtype = getattr(torch, row.dtype)
        self.X = torch.from_numpy(np.asarray(data.X, dtype=row.dtype))
        self.Y = torch.from_numpy(np.asarray(data.Y, dtype=row.dtype))
        self.flat = data.params0.astype(row.dtype)
        weights, biases = workloads.split(wl, self.flat)
        # Tensors over the same memory as self.flat: every update lands there.
        self.weights = [torch.from_numpy(W) for W in weights]
        self.biases = [torch.from_numpy(b) for b in biases]
        if self.autograd:
            for W in self.weights:
                W.requires_grad_(True)
            for b in self.biases:
                b.requires_grad_(wl.train_bias)
            # Built here, untimed: the first optimizer of a process imports torch._dynamo (~2 s).
            self.optimizer = torch.optim.SGD(
                self.weights + (self.biases if wl.train_bias else []), lr=wl.lr
            )

    def train(self):
        start = time.perf_counter()
        if self.autograd:
            self._train_autograd()
        else:
            with self.torch.no_grad():
                self._train_in_place()
        return time.perf_counter() - start

    def params(self):
        return self.flat

    def _batches(self):
        n, step = len(self.X), self.wl.batch_size
        for _ in range(self.wl.epochs):
            for first in range(0, n, step):
                yield self.X[first : first + step], self.Y[first : first + step]

    def _train_autograd(self):
        torch, wl, optimizer = self.torch, self.wl, self.optimizer
        acts = [AUTOGRAD_ACTIVATIONS[name] for name in wl.activations]
        last = len(self.weights) - 1
        for x, t in self._batches():
            a = x
            for l, (W, b, f) in enumerate(zip(self.weights, self.biases, acts)):
                z = torch.addmm(b, a, W.t())
                if l == last and wl.loss == "cross_entropy":
                    loss = -(t * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
                    break
                a = f(z)
            else:
                loss = 0.5 * ((a - t) ** 2).sum(dim=1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def _train_in_place(self):
        torch, wl = self.torch, self.wl
        size = min(wl.batch_size, len(self.X))
        outs = [torch.empty(size, n, dtype=self.dtype) for n in wl.sizes[1:]]
        deltas = [torch.empty(size, n, dtype=self.dtype) for n in wl.sizes[1:]]
        acts = [IN_PLACE_ACTIVATIONS[name] for name in wl.activations]
        for x, t in self._batches():
            m = len(x)
            ins = [x] + [o[:m] for o in outs[:-1]]
            for W, b, a_in, a, f in zip(self.weights, self.biases, ins, outs, acts):
                f(torch.addmm(b, a_in, W.t(), out=a[:m]))
            o, delta = outs[-1][:m], deltas[-1][:m]
            torch.sub(o, t, out=delta)
            if wl.loss != "cross_entropy":
                delta.mul_(DERIVATIVES[wl.activations[-1]](o))
            scale = wl.lr / m  # the mean of the per-sample gradients
            for l in range(len(self.weights) - 1, -1, -1):
                W, b, a_in = self.weights[l], self.biases[l], ins[l]
                if l:  # W^T delta, before W changes
                    below = deltas[l - 1][:m]
                    torch.mm(delta, W, out=below)
                    below.mul_(DERIVATIVES[wl.activations[l - 1]](a_in))
                W.addmm_(delta.t(), a_in, alpha=-scale)
                if wl.train_bias:
                    b.sub_(delta.sum() if wl.bias == "shared" else delta.sum(dim=0), alpha=scale)
                if l:
                    delta = below


AUTOGRAD_ACTIVATIONS = {
    "logistic": lambda z: z.sigmoid(),
    "tanh": lambda z: z.tanh(),
    "relu": lambda z: z.relu(),
    "softmax": lambda z: z.softmax(dim=1),
    "identity": lambda z: z,
}

IN_PLACE_ACTIVATIONS = {
    "logistic": lambda z: z.sigmoid_(),
    "tanh": lambda z: z.tanh_(),
    "relu": lambda z: z.relu_(),
    "softmax": lambda z: z.copy_(z.softmax(dim=1)),
    "identity": lambda z: z,
}

# f'(z) in terms of a = f(z)
DERIVATIVES = {
    "logistic": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "relu": lambda a: (a > 0.0).to(a.dtype),
    "identity": lambda a: 1.0,
}
