"""
Regression: the validation curve and early stopping
===================================================

Thirty noisy samples of a smooth curve are few for a 1-32-32-1 network: trained
long enough it fits the noise, and its loss on held-out samples, after falling,
climbs again.  ``EarlyStopping`` watches that validation loss, stops once it
has not improved for ``patience`` epochs, and puts back the parameters of the
best epoch.
"""
import time

import matplotlib.pyplot as plt
import numpy as np

import backprop as bp

started = time.perf_counter()
rng = np.random.default_rng(1)


def curve(x):
    return np.sin(3 * x) + 0.5 * x


x_train = rng.uniform(-1, 1, size=(30, 1))
y_train = curve(x_train) + rng.normal(scale=0.3, size=x_train.shape)
x_val = rng.uniform(-1, 1, size=(200, 1))
y_val = curve(x_val) + rng.normal(scale=0.3, size=x_val.shape)

# %%
# The targets are not confined to a range, so the output layer is the
# identity and the loss the squared error.  First without early stopping, for
# 3,000 epochs of full-batch Adam:

def network():
    return bp.Network([1, 32, 32, 1], activation=["tanh", "tanh", "identity"], seed=0)


overfit = network()
long_run = overfit.train(x_train, y_train, epochs=3000, lr=0.01, optimizer="adam",
                         batch_size=None, validation=(x_val, y_val))
print(f"without early stopping: validation loss {long_run.val_loss.min():.4f} at best "
      f"(epoch {long_run.val_loss.argmin() + 1}), {long_run.val_loss[-1]:.4f} at the end")

# %%
# The same network, the same data, with ``EarlyStopping(patience=100)``:

stopper = bp.EarlyStopping(monitor="val_loss", patience=100, restore_best=True)
net = network()
history = net.train(x_train, y_train, epochs=3000, lr=0.01, optimizer="adam", batch_size=None,
                    validation=(x_val, y_val), callbacks=[stopper])
print(f"early stopping: stopped after {len(history.loss)} epochs ({history.stop_reason}), "
      f"best epoch {stopper.best_epoch + 1}, validation loss {net.loss(x_val, y_val):.4f}")

fig, (ax_curve, ax_fit) = plt.subplots(1, 2, figsize=(10, 4))
ax_curve.plot(np.arange(1, 3001), long_run.loss, color="C0", alpha=0.5, label="training")
ax_curve.plot(np.arange(1, 3001), long_run.val_loss, color="C1", label="validation")
ax_curve.axvline(stopper.best_epoch + 1, color="grey", linestyle="--",
                 label="early stopping's best epoch")
ax_curve.set(xlabel="epoch", ylabel="mean ½(t − o)²", yscale="log",
             title="Without early stopping")
ax_curve.legend()

grid = np.linspace(-1, 1, 200).reshape(-1, 1)
ax_fit.scatter(x_train, y_train, s=12, color="black", label="training samples")
ax_fit.plot(grid, curve(grid), color="grey", linestyle=":", label="the true curve")
ax_fit.plot(grid, overfit.predict(grid), color="C3", label="3,000 epochs")
ax_fit.plot(grid, net.predict(grid), color="C2", label="early stopping")
ax_fit.set(xlabel="x", ylabel="y", title="The fitted curves")
ax_fit.legend()
fig.tight_layout()
plt.show()
print(f"took {time.perf_counter() - started:.2f} s")
