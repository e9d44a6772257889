"""backprop, the library under test: one ``Network.train`` call per run (W0's
10^6 updates included), a threads row: two independent networks trained at
once in two Python threads (the core releases the GIL), and for mini-batches a
row of one network whose batches a team of two threads shares (threads=2).
The float32 rows train ``Network(..., dtype="float32")`` (W1 to W3) on the
data rounded to float32 before the clock starts, as PyTorch's float32 rows do.

The threads row measures throughput over at least LAP_SECONDS: two threads
train the workload lap after lap, each lap on a fresh network, taking the laps
from one queue until it is empty, and the row's time is the time per lap of
each thread. The lap count (per thread) is calibrated untimed to last
LAP_SECONDS: a lone lap of W1 lasts ~8 ms, and on a VM the second thread can
start 1-4 ms after the first: that start-up, not the throughput, would be
measured. The queue is how a thread pool runs independent trainings: when the
host slows one of the VM's cores for a while, the other thread takes more
laps, rather than waiting idle at the end for a fixed share to finish. Right
before, each run times the same number of laps on one network in this thread
alone (``pair``: seconds per lap alone, then in two threads), so that the gain
is also judged on two measurements a moment apart: the best of a row's runs
on a shared machine favours one thread, whose best needs one quiet core, not
two.
"""
import math
import queue
import threading
import time

import workloads
from peers import LAP_SECONDS, Row, Unavailable


def probe():
    try:
        import backprop
    except ImportError as error:
        raise Unavailable(f"not importable ({error}): pip install . from the repository") from None
    if not hasattr(backprop, "Network"):
        raise Unavailable("this backprop has no Network yet (no compiled core)")
    return f"backprop {backprop.__version__}"


def rows(wl):
    rows = [Row("backprop", "backprop", "backprop"),
            # the fallback kernels for CPUs without AVX2 (on x86-64: SSE2)
            Row("backprop", "backprop-baseline", "backprop, baseline kernel build")]
    if wl.batch_size > 1:
        # mini-batches run as matrix products, on SciPy's BLAS when installed
        rows.append(Row("backprop", "backprop-blas2", "backprop, BLAS on 2 threads", threads=2))
        # train(threads=2): a team of two threads shares each batch, one BLAS thread each
        rows.append(Row("backprop", "backprop-team2", "backprop, threads=2 (one BLAS thread each)",
                        threads=2))
    rows.append(Row("backprop", "backprop-threads", "backprop, 2 networks in 2 threads", threads=2,
                    copies=2))
    if wl.name != "W0":
        rows.append(Row("backprop", "backprop-float32", "backprop float32", dtype="float32"))
    if wl.name != "W0" and wl.batch_size > 1:
        rows.append(Row("backprop", "backprop-float32-blas2", "backprop float32, BLAS on 2 threads",
                        threads=2, dtype="float32"))
        rows.append(Row("backprop", "backprop-float32-team2",
                        "backprop float32, threads=2 (one BLAS thread each)", threads=2,
                        dtype="float32"))
    return rows


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        import backprop

        if row.key == "backprop-baseline":
            backprop._core.use_kernels("baseline")

        self.dtype = row.dtype
        self.wl, self.X, self.Y = wl, data.X.astype(row.dtype), data.Y.astype(row.dtype)
        self.threads = 2 if row.key.endswith("team2") else 1
        self.weights, self.biases = workloads.split(wl, data.params0)
        self.copies, self.laps = row.copies, 1
        if self.copies > 1:
            start = time.perf_counter()
            self._fit(self._network())
            self.laps = max(1, math.ceil(LAP_SECONDS / (time.perf_counter() - start)))
        # the networks the copies share out, a fresh one for every lap; the
        # threads row's laps alone
        self.nets = [self._network() for _ in range(self.copies * self.laps)]
        self.alone = [self._network() for _ in range(self.laps)] if self.copies > 1 else []
        self.pair = None

    def _network(self):
        import backprop

        wl = self.wl
        return backprop.Network.from_weights(
            weights=[W.copy() for W in self.weights], biases=[b.copy() for b in self.biases],
            activation=list(wl.activations), loss=wl.loss, bias=wl.bias, train_bias=wl.train_bias,
            # (float64 rows name no dtype: ab.py compares builds that predate it)
            **({} if self.dtype == "float64" else {"dtype": self.dtype}))

    def _fit(self, net):
        net.train(self.X, self.Y, epochs=self.wl.epochs, lr=self.wl.lr,
                  batch_size=self.wl.batch_size, shuffle=False, threads=self.threads)

    def _laps(self, nets, ready, errors):
        ready.wait()
        try:
            while True:
                try:
                    net = nets.get_nowait()
                except queue.Empty:
                    return
                self._fit(net)
        except BaseException as error:
            errors.append(error)

    def train(self):
        if self.copies == 1:
            start = time.perf_counter()
            self._fit(self.nets[0])
            return time.perf_counter() - start
        start = time.perf_counter()
        for net in self.alone:
            self._fit(net)
        alone = (time.perf_counter() - start) / self.laps
        nets, errors = queue.SimpleQueue(), []
        for net in self.nets:
            nets.put(net)
        ready = threading.Barrier(self.copies + 1)
        threads = [threading.Thread(target=self._laps, args=(nets, ready, errors))
                   for _ in range(self.copies)]
        for thread in threads:
            thread.start()
        ready.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        both = (time.perf_counter() - start) / self.laps
        if errors:
            raise errors[0]
        self.pair = (alone, both)
        return self.pair[1]

    def params(self):
        """The first network's parameters; in the threads row every network of
        every lap, alone or not, must agree with it bit for bit."""
        flat = [workloads.join(net.weights, net.biases) for net in self.nets + self.alone]
        apart = max(float(abs(f - flat[0]).max()) for f in flat)
        if apart:
            raise RuntimeError("two networks trained from the same start in two threads differ "
                               f"(max |difference| {apart:.1e})")
        return flat[0]
