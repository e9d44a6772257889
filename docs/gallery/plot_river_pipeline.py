"""
A River pipeline with progressive validation
============================================

River learns from a stream one sample at a time.  ``backprop.river`` gives it
an ``MLPClassifier`` whose every ``learn_one`` is one compiled online step of
the network.  Here it goes behind River's own ``StandardScaler`` in a
pipeline, on the ``Phishing`` dataset that River ships (1,250 web pages, 9
features, phishing or not), beside River's ``LogisticRegression`` behind the
same scaler.

Progressive validation: each sample is first predicted and scored, then
learned from, so every score is on a sample the model had not seen yet, and
the running accuracy after sample *i* is the accuracy on the first *i*.
``river.evaluate.progressive_val_score`` does exactly this and reports the
last value; its companion ``iter_progressive_val_score`` yields the metric
as it goes, here after every sample (``step=1``), for the figure.
"""
import time

import matplotlib.pyplot as plt
import numpy as np
from river import datasets, evaluate, linear_model, metrics, preprocessing

import backprop.river

started = time.perf_counter()
models = {
    "backprop.river.MLPClassifier(hidden=(32,))":
        preprocessing.StandardScaler() | backprop.river.MLPClassifier(hidden=(32,), seed=0),
    "river LogisticRegression()":
        preprocessing.StandardScaler() | linear_model.LogisticRegression(),
}

# %%
# One pass over the stream for each model, the same samples in the same
# order.  A model that has seen no label yet predicts ``None`` for the first
# sample, which River leaves out of the metric.

running, final = {}, {}
for name, model in models.items():
    metric = metrics.Accuracy()
    steps = evaluate.iter_progressive_val_score(datasets.Phishing(), model, metric, step=1)
    running[name] = [state["Accuracy"].get() for state in steps]
    final[name] = metric

# %%
# The running accuracy, sample by sample.  The first few dozen samples decide
# the early values, so the curves start noisy and settle as the stream goes
# on.

fig, ax = plt.subplots(figsize=(9, 4))
for (name, values), color in zip(running.items(), ("C0", "C1")):
    ax.plot(np.arange(1, len(values) + 1), values, color=color,
            label=f"{name}: {values[-1]:.4f}")
ax.set(xlabel="samples seen", ylabel="progressive accuracy", ylim=(0.5, 1.0),
       title="Progressive validation on River's Phishing stream")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()

for name, metric in final.items():
    print(f"{name}: {metric}")
print(f"took {time.perf_counter() - started:.2f} s")
