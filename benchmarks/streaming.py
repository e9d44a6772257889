"""Per-call cost of the streaming API on the worked example's 2-2-2 network.

    python benchmarks/streaming.py

Times ``net.learn_one(x, t, lr)`` and ``net.predict_one(x)`` in a Python loop
(the loop included, as a user's stream would run it) with float64 1-D arrays,
best of several rounds, and prints nanoseconds per call next to an empty loop's.
"""
import time

import backprop as bp

CALLS = 200_000
ROUNDS = 7


def per_call(body):
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        body()
        best = min(best, (time.perf_counter() - start) / CALLS)
    return best * 1e9


def main():
    net, x, t, lr = bp.examples.mazur()
    learn, predict = net.learn_one, net.predict_one

    def learning():
        for _ in range(CALLS):
            learn(x, t, lr)

    def predicting():
        for _ in range(CALLS):
            predict(x)

    def empty():
        for _ in range(CALLS):
            pass

    print(f"learn_one    {per_call(learning):6.0f} ns per call")
    print(f"predict_one  {per_call(predicting):6.0f} ns per call")
    print(f"empty loop   {per_call(empty):6.0f} ns per iteration")


if __name__ == "__main__":
    main()
