"""
Classifying handwritten digits
==============================

scikit-learn's bundled digits: 1,797 images of 8×8 pixels with values 0 to
16, ten classes.  A 64-32-10 network with a tanh hidden layer and softmax
outputs, trained with Adam on cross-entropy in mini-batches, with a held-out
validation set whose loss ``train`` records after every epoch and whose
accuracy a callback records.
"""
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import backprop as bp

started = time.perf_counter()
digits = load_digits()
rng = np.random.default_rng(0)
order = rng.permutation(len(digits.target))
X, labels = digits.data[order], digits.target[order]
X_train, X_val, X_test = X[:1200], X[1200:1500], X[1500:]
y_train, y_val, y_test = labels[:1200], labels[1200:1500], labels[1500:]

# %%
# Inputs at about unit scale train best: each pixel's mean and standard
# deviation come from the training images only.  ``one_hot`` turns the labels
# into the ten-column targets.

mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-12
X_train, X_val, X_test = [(part - mean) / std for part in (X_train, X_val, X_test)]
Y_train, classes = bp.one_hot(y_train)
Y_val, _ = bp.one_hot(y_val, classes=classes)

# %%
# A callback runs after every epoch with the network as trained so far; this
# one records the validation accuracy (it returns None, so training goes on).

val_accuracy = []


def record_accuracy(epoch, history, network):
    val_accuracy.append(network.accuracy(X_val, y_val))


net = bp.Network([64, 32, 10], activation=["tanh", "softmax"], loss="cross_entropy", seed=0)
history = net.train(X_train, Y_train, epochs=40, lr=0.002, optimizer="adam", batch_size=16,
                    shuffle=True, seed=0, validation=(X_val, Y_val),
                    callbacks=[record_accuracy])

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
history.plot(ax=ax_loss, title="Cross-entropy per epoch")
ax_acc.plot(history.epoch, val_accuracy, color="C2")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="Accuracy on held-out digits")
fig.tight_layout()
plt.show()

# %%
# The test images were used for nothing so far.  ``predict_classes`` gives the
# index of the largest output, ``classes`` turns it back into a digit.

predicted = classes[net.predict_classes(X_test)]
print(f"test accuracy: {net.accuracy(X_test, y_test):.3f} on {len(y_test)} images")
print(f"first ten: predicted {predicted[:10]}, true {y_test[:10]}")
print(f"took {time.perf_counter() - started:.2f} s")
