"""
The worked example's network
============================

Matt Mazur's `A Step by Step Backpropagation Example
<https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/>`_
trains a 2-2-2 network of logistic units on one sample.  ``draw_network``
draws it as the post does: each connection labelled with its name (w1..w8, in
the order of ``net.params``) and its weight, blue for positive, red for
negative, and one shared bias unit per layer.  Then the 10,000 online updates
the post makes, and the total error over them.
"""
import time

import matplotlib.pyplot as plt

import backprop as bp
from backprop.plotting import draw_network

started = time.perf_counter()
net, x, t, lr = bp.examples.mazur()
draw_network(net, title="The worked example before training")
plt.show()

# %%
# One epoch is one update here (one sample), so ``History.loss`` holds the
# total error before each of the 10,000 updates; the loss axis turns
# logarithmic by itself, since the losses span more than two decades.

history = net.train(x, t, epochs=10_000, lr=lr)
history.plot(title="E_total over 10,000 updates (one per epoch)")
plt.show()
print(f"E_total before the first update: {history.loss[0]:.9f}")
print(f"E_total after 10,000 updates:    {net.loss(x, t):.9f}")
print(f"outputs: {net.predict(x)}  (targets {t})")
print(f"took {time.perf_counter() - started:.2f} s")
