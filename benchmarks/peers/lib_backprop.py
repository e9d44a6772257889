"""backprop, the library under test: one ``Network.train`` call per run (W0's
10^6 updates included), a threads row: two independent networks trained at
once in two Python threads (the core releases the GIL), and for mini-batches a
row of one network whose batches a team of two threads shares (threads=2)."""
import threading
import time

import workloads
from peers import Row, Unavailable


def probe():
    try:
        import backprop
    except ImportError as error:
        raise Unavailable(f"not importable ({error}): pip install . from the repository") from None
    if not hasattr(backprop, "Network"):
        raise Unavailable("this backprop has no Network yet (no compiled core)")
    return f"backprop {backprop.__version__}"


def scalar_note(wl):
    """Networks no wider than backprop._core.SCALAR_WIDTH run on the scalar
    kernel build whichever instruction-set build is active: say so."""
    from backprop import _core

    if max(wl.sizes) <= getattr(_core, "SCALAR_WIDTH", 0):
        return f"every layer <= {_core.SCALAR_WIDTH} wide: runs on the scalar kernel build"
    return ""


def rows(wl):
    note = scalar_note(wl)
    rows = [Row("backprop", "backprop", "backprop", note=note),
            # the fallback kernels for CPUs without AVX2 (on x86-64: SSE2)
            Row("backprop", "backprop-baseline", "backprop, baseline kernel build", note=note)]
    if wl.batch_size > 1:
        # mini-batches run as matrix products, on SciPy's BLAS when installed
        rows.append(Row("backprop", "backprop-blas2", "backprop, BLAS on 2 threads", threads=2))
        # train(threads=2): a team of two threads shares each batch, one BLAS thread each
        rows.append(Row("backprop", "backprop-team2", "backprop, threads=2 (one BLAS thread each)",
                        threads=2))
    rows.append(Row("backprop", "backprop-threads", "backprop, 2 networks in 2 threads", threads=2,
                    copies=2))
    return rows


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        import backprop

        if row.key == "backprop-baseline":
            backprop._core.use_kernels("baseline")

        self.wl, self.X, self.Y = wl, data.X, data.Y
        self.threads = 2 if row.key == "backprop-team2" else 1
        weights, biases = workloads.split(wl, data.params0)
        self.nets = [
            backprop.Network.from_weights(
                weights=[W.copy() for W in weights], biases=[b.copy() for b in biases],
                activation=list(wl.activations), loss=wl.loss, bias=wl.bias,
                train_bias=wl.train_bias,
            )
            for _ in range(row.copies)
        ]

    def _train(self, net, ready):
        ready.wait()
        net.train(self.X, self.Y, epochs=self.wl.epochs, lr=self.wl.lr,
                  batch_size=self.wl.batch_size, shuffle=False)

    def train(self):
        if len(self.nets) == 1:
            start = time.perf_counter()
            self.nets[0].train(self.X, self.Y, epochs=self.wl.epochs, lr=self.wl.lr,
                               batch_size=self.wl.batch_size, shuffle=False, threads=self.threads)
            return time.perf_counter() - start
        ready = threading.Barrier(len(self.nets) + 1)
        threads = [threading.Thread(target=self._train, args=(net, ready)) for net in self.nets]
        for thread in threads:
            thread.start()
        ready.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        return time.perf_counter() - start

    def params(self):
        """The first network's parameters; the threads row's networks must agree bit for bit."""
        flat = [workloads.join(net.weights, net.biases) for net in self.nets]
        apart = max(float(abs(f - flat[0]).max()) for f in flat)
        if apart:
            raise RuntimeError("two networks trained from the same start in two threads differ "
                               f"(max |difference| {apart:.1e})")
        return flat[0]
