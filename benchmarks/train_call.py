"""The Python layer's share of Network.train: the fixed cost of one call on
one mini-batch (what scikit-learn's partial_fit pays per batch), and the W0
call (10^6 one-sample epochs), whose History holds 10^6 entries per field.

    python benchmarks/train_call.py [--src DIR]

--src runs another checkout's sources (with this build's compiled modules
copied beside them) for an A/B comparison.  Times are CPU seconds of this
process (time.process_time), the minimum over repeats, so other processes on
the machine disturb them less than wall-clock times.
"""
import argparse
import sys
import time


def per_call(fn, calls, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - t0) / calls)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="the src/ directory to import backprop from")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, args.src)
    import numpy as np

    import backprop as bp

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((64, 64)), rng.random((64, 10))
    net = bp.Network([64, 32, 10], seed=0)
    model = net._model
    sums, state, record, lrs = np.zeros(1), np.zeros(3), np.empty(1), np.array([0.01])
    whole = per_call(lambda: net.train(X, Y, epochs=1, batch_size=64, lr=0.01), 2000, args.repeats)
    core = per_call(lambda: model.train(X, Y, None, lrs, 64, 0, 1, sums, -np.inf, 0, record, state,
                                        None, None), 2000, args.repeats)

    w0, x, t, lr = bp.examples.mazur()
    X0, T0 = x[None], t[None]

    def w0_call():
        return w0.copy().train(X0, T0, epochs=1_000_000, lr=lr)

    def w0_read():
        h = w0_call()
        return h.epoch, h.lr, h.time, h.samples

    w0_train = per_call(w0_call, 1, max(5, args.repeats))
    w0_fields = per_call(w0_read, 1, max(5, args.repeats))
    print(f"backprop from {bp.__file__}")
    print("| measure | CPU time |")
    print("|---|---|")
    print(f"| train(64x64 batch, batch_size=64, 1 epoch), whole call | {whole * 1e6:.1f} µs |")
    print(f"| its compiled call alone (_core.Model.train) | {core * 1e6:.1f} µs |")
    print(f"| the Python layer's share | {(whole - core) * 1e6:.1f} µs |")
    print(f"| W0 train call (10^6 one-sample epochs) | {w0_train * 1e3:.1f} ms |")
    print(f"| W0 train call, then every History field read | {w0_fields * 1e3:.1f} ms |")


if __name__ == "__main__":
    main()
