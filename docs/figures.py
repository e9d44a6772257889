"""Draw the README's figures: ``python docs/figures.py`` (needs matplotlib).

mazur-network.png: the worked example's network before training
mazur-loss.png:    its total error over the 10,000 online updates
"""
import pathlib

import backprop as bp
from backprop.plotting import draw_network

HERE = pathlib.Path(__file__).resolve().parent

net, x, t, lr = bp.examples.mazur()
draw_network(net, path=HERE / "mazur-network.png", dpi=120)
history = net.train(x, t, epochs=10_000, lr=lr)
history.plot(path=HERE / "mazur-loss.png", dpi=120,
             title="Worked example: E_total over 10,000 updates (one per epoch)")
