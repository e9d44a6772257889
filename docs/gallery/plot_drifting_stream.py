"""
Online learning on a drifting stream
====================================

A stream of points in the plane whose class is the side of a line they fall
on, where the line turns slowly (a quarter turn over the stream) and, two thirds
of the way through, the classes swap at once.  A network that learns from
every sample as it arrives, with ``learn_one``, follows the drift; one trained
on the stream's start and then frozen does not.

Each sample is first predicted and scored, then learned from (progressive
validation), so every score is on a sample the network had not yet seen.
"""
import time

import matplotlib.pyplot as plt
import numpy as np

import backprop as bp

started = time.perf_counter()
n = 30_000
rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(n, 2))
angle = np.pi / 2 * np.arange(n) / n                    # the line's direction turns
normal = np.column_stack([-np.sin(angle), np.cos(angle)])
labels = (np.einsum("ij,ij->i", X, normal) > 0).astype(float)
labels[2 * n // 3:] = 1.0 - labels[2 * n // 3:]         # the sudden swap
T = labels.reshape(-1, 1)

# %%
# Both networks start alike, and both learn from the first 2,000 samples one
# at a time; then one goes on learning and the other only predicts.

def network():
    return bp.Network([2, 8, 1], activation=["tanh", "logistic"], loss="cross_entropy", seed=0)


online, frozen = network(), network()
warm_up = 2_000
hits = {"online": np.empty(n), "frozen": np.empty(n)}
for i in range(n):
    x, t = X[i], T[i]
    for name, net in (("online", online), ("frozen", frozen)):
        hits[name][i] = (net.predict_one(x)[0] > 0.5) == labels[i]
    online.learn_one(x, t, lr=0.2)
    if i < warm_up:
        frozen.learn_one(x, t, lr=0.2)

# %%
# The accuracy over a moving window of 500 samples:

window = 500
kernel = np.ones(window) / window
fig, ax = plt.subplots(figsize=(9, 4))
for name, color in (("online", "C0"), ("frozen", "C3")):
    ax.plot(np.arange(window, n + 1), np.convolve(hits[name], kernel, mode="valid"),
            color=color, label=f"{name}: {hits[name].mean():.3f} overall")
ax.axvline(warm_up, color="grey", linestyle=":", label="the frozen network stops learning")
ax.axvline(2 * n // 3, color="grey", linestyle="--", label="the classes swap")
ax.set(xlabel="samples seen", ylabel=f"accuracy over the last {window}", ylim=(0, 1.02),
       title="Progressive validation on a drifting stream")
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()
for name in hits:
    print(f"{name}: accuracy {hits[name].mean():.3f} over the stream, "
          f"{hits[name][-window:].mean():.3f} on its last {window} samples")
print(f"took {time.perf_counter() - started:.2f} s")
