"""Cost per sample of a River stream: predict_one(x) then learn_one(x, y) on
dict samples, backprop.river.MLPClassifier against River's own models.

    python benchmarks/river_stream.py [--samples 100000] [--rounds 3]

The stream: --samples dicts of 10 float features (standard normal) with a
boolean label from a fixed linear rule with 10% of the labels flipped, the
same for every model.  Each model sees it as progressive validation does
(predict, then learn, sample by sample, the Python loop included); the
table gives the best of --rounds passes (a fresh model each), in
microseconds per sample, its ratio to River's LogisticRegression, and the
progressive accuracy as a check that the models learn.

Then where backprop's time goes, for the default MLPClassifier(hidden=(32,)),
each part timed alone over the same stream in a fitted model: the
dict-to-array conversion (two per sample: one for predict, one for learn),
the network's two compiled calls on ready arrays (Network.predict_one and
Network.learn_one), and the rest (the adapter's Python: method calls, the
label lookup, the argmax).

deep-river (River's neural networks on PyTorch) is timed when it imports.
"""
import argparse
import platform
import time

import numpy as np


def make_stream(n, n_features=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    w = rng.normal(size=n_features)
    y = (X @ w > 0) ^ (rng.random(n) < 0.1)
    names = [f"x{j}" for j in range(n_features)]
    return [(dict(zip(names, row.tolist())), bool(label)) for row, label in zip(X, y)]


def progressive(model, stream):
    """Seconds for the stream, and the progressive accuracy."""
    hits = 0
    predict, learn = model.predict_one, model.learn_one
    start = time.perf_counter()
    for x, y in stream:
        hits += predict(x) == y
        learn(x, y)
    return time.perf_counter() - start, hits / len(stream)


def best(factory, stream, rounds):
    runs = [progressive(factory(), stream) for _ in range(rounds)]
    seconds = min(s for s, _ in runs)
    return seconds / len(stream) * 1e6, runs[0][1]


def peers():
    from river import linear_model

    import backprop.river

    yield "River linear_model.LogisticRegression()", linear_model.LogisticRegression
    yield ("backprop.river.MLPClassifier(hidden=(32,))  [tanh]",
           lambda: backprop.river.MLPClassifier(hidden=(32,), seed=0))
    yield ("backprop.river.MLPClassifier(hidden=(32,), activation='relu')",
           lambda: backprop.river.MLPClassifier(hidden=(32,), activation="relu", seed=0))
    yield ("backprop.river.MLPClassifier(hidden=())  [softmax regression]",
           lambda: backprop.river.MLPClassifier(hidden=(), seed=0))
    try:
        from deep_river.classification import Classifier as DeepClassifier  # noqa: F401
    except ImportError:
        return
    import torch

    class MLP(torch.nn.Module):
        def __init__(self, n_features):
            super().__init__()
            self.hidden = torch.nn.Linear(n_features, 32)
            self.out = torch.nn.Linear(32, 2)

        def forward(self, x):
            return torch.softmax(self.out(torch.tanh(self.hidden(x))), dim=-1)

    yield ("deep-river Classifier(MLP 10-32-2, tanh, sgd)",
           lambda: DeepClassifier(module=MLP, loss_fn="binary_cross_entropy", optimizer_fn="sgd",
                                  lr=0.02, seed=0))


def breakdown(stream, rounds):
    """Microseconds per sample of each part of the default model's work."""
    import backprop.river

    model = backprop.river.MLPClassifier(hidden=(32,), seed=0)
    for x, y in stream[:1000]:
        model.learn_one(x, y)
    net = model.network
    vector = model._vector
    targets = {label: np.eye(len(model.labels))[i] for i, label in enumerate(model.labels)}
    arrays = [(vector(x, False), targets[y]) for x, y in stream]
    lr = model.lr

    def timed(body):
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            body()
            times.append(time.perf_counter() - start)
        return min(times) / len(stream) * 1e6

    def conversion():
        for x, _ in stream:
            vector(x, False)
            vector(x, True)

    def network():
        predict, learn = net.predict_one, net.learn_one
        for v, t in arrays:
            predict(v)
            learn(v, t, lr)

    def empty():
        for x, y in stream:
            pass

    whole = timed(lambda: progressive(model, stream))
    parts = {"dict -> array conversion (x2)": timed(conversion),
             "Network.predict_one + Network.learn_one": timed(network),
             "empty Python loop over the stream": timed(empty)}
    parts["adapter's Python (the rest)"] = whole - sum(parts.values())
    return whole, parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import river

    import backprop

    stream = make_stream(args.samples)
    print(f"# River stream: {args.samples:,} samples, 10 features, predict_one + learn_one")
    print(f"- CPython {platform.python_version()}; backprop {backprop.__version__}; "
          f"river {river.__version__}; numpy {np.__version__}; {platform.machine()}")
    print()
    print("| model | µs per sample | x River LogisticRegression | progressive accuracy |")
    print("|---|---|---|---|")
    reference = None
    for name, factory in peers():
        us, accuracy = best(factory, stream, args.rounds)
        reference = reference or us
        print(f"| {name} | {us:.2f} | {reference / us:.2f}x faster | {accuracy:.4f} |", flush=True)
    try:
        import deep_river  # noqa: F401
    except ImportError:
        print("| deep-river | not installed | | |")
    whole, parts = breakdown(stream, args.rounds)
    print()
    print(f"Where the default MLPClassifier's {whole:.2f} µs per sample go:")
    print()
    print("| part | µs per sample | share |")
    print("|---|---|---|")
    for name, us in parts.items():
        print(f"| {name} | {us:.2f} | {us / whole:.0%} |")


if __name__ == "__main__":
    main()
