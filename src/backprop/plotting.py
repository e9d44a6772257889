"""Plots: a training history's loss curves and a drawing of a small network.

Needs matplotlib, an optional extra: ``pip install 'cybackprop[plot]'``.
Both functions draw into ``ax`` when one is given, else into a new figure;
``path=`` also saves the figure (the format follows the suffix: ``.png``,
``.svg``, ``.pdf``).  A figure made only to be saved never touches pyplot, so
no GUI backend is needed.
"""
import numpy as np

# The loss axis turns logarithmic when the plotted losses span more than this
# factor (two decades) and are all positive.
LOG_SPAN = 100.0
# The network drawing: figure inches per unit of its coordinates; layers _DX
# apart (plus _DX_PER_UNIT for each unit beyond two in the larger of two
# layers, to give crossing labels room), units _DY apart with radius _R,
# shared bias units _BIAS_DROP below.
INCHES_PER_UNIT = 0.78
_DX, _DX_PER_UNIT, _DY, _R, _BIAS_DROP = 3.2, 0.8, 1.6, 0.42, 1.5
# Connection labels: font size, preferred place along the line (near the
# source, as in the worked example's figure).
_LABEL_PT, _LABEL_AT = 8, 0.3
# Bigger networks are drawn without labels; bigger layers are refused.
MAX_LABELLED = 24
MAX_UNITS = 32

# What the plots read of a History and of a Network.  They take any object
# with these attributes, so that this module depends on neither class (the
# classes' own plot methods call it).
_HISTORY_FIELDS = ("loss", "val_loss", "epoch", "samples", "record", "record_samples",
                   "record_every")
_NETWORK_FIELDS = ("sizes", "weights", "biases", "params", "bias", "train_bias", "activations")

_COLORS = {"input": "#e8e8e8", "hidden": "#d6e6f5", "output": "#fbe3c8", "bias": "#ffffff"}
_POSITIVE, _NEGATIVE = "#1f4e79", "#a4262c"


def require_matplotlib():
    """The matplotlib module; an ImportError that says how to install it if
    it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib, which is not installed: "
                          "pip install 'cybackprop[plot]' (or pip install matplotlib)") from None
    return matplotlib


def _axes(ax, path, figsize):
    """The Axes to draw into: ``ax``, or one on a new figure (a bare Figure
    when it is only to be saved, a pyplot figure otherwise)."""
    require_matplotlib()
    if ax is not None:
        return ax
    if path is not None:
        from matplotlib.figure import Figure

        return Figure(figsize=figsize, layout="constrained").subplots()
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, layout="constrained")[1]


def _save(ax, path, dpi):
    if path is not None:
        ax.figure.savefig(path, dpi=dpi)


def plot_history(history, ax=None, *, path=None, log=None, title=None, dpi=150):
    """Plot a ``History``: the training loss per epoch and, when recorded, the
    validation loss; with ``record_every`` the recorded loss curve against
    samples seen instead (with the validation loss at each epoch's end).

    ax:    a matplotlib Axes to draw into (default: a new figure)
    path:  also save the figure to this file (e.g. ``"loss.png"``)
    log:   logarithmic loss axis: None decides (yes when the losses are positive
           and span more than two decades), True or False forces it
    title: the axes' title
    dpi:   resolution of the saved image

    Returns the Axes.
    """
    series, xlabel = _history_series(history)
    ax = _axes(ax, path, (6.4, 4.0))
    for x, y, label, style in series:
        ax.plot(x, y, label=label, **style)
    values = np.concatenate([y for _, y, _, _ in series])
    values = values[np.isfinite(values)]
    if log is None:
        log = values.size > 0 and values.min() > 0 and values.max() > LOG_SPAN * values.min()
    if log:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss (mean per sample)")
    ax.grid(True, which="major", alpha=0.3)
    if len(series) > 1:
        ax.legend()
    if title is not None:
        ax.set_title(title)
    _save(ax, path, dpi)
    return ax


def _check_fields(obj, name, kind, fields):
    """TypeError unless ``obj`` has every attribute in ``fields`` (what the
    plots read of a backprop.<kind>)."""
    missing = [f for f in fields if not hasattr(obj, f)]
    if missing:
        raise TypeError(f"{name} must be a backprop.{kind}, got {type(obj).__name__} "
                        f"(it has no {', '.join(missing)})")


def _history_series(history):
    """[(x, y, label, style)] and the x-axis label for a History."""
    _check_fields(history, "history", "History", _HISTORY_FIELDS)
    loss = np.asarray(history.loss, dtype=float)
    record = np.asarray(history.record, dtype=float)
    val = np.asarray(history.val_loss, dtype=float)
    if record.size:
        x = np.asarray(history.record_samples)
        if x.shape != record.shape:
            raise ValueError(f"history.record_samples has {x.size} entries but history.record has {record.size}")
        series = [(x, record, f"training loss (mean of every {history.record_every} samples)",
                   _style(record.size))]
        ends = np.asarray(history.samples)
        if val.size and ends.shape == val.shape:
            series.append((ends, val, "validation loss", _style(val.size, marker=True)))
        return series, "samples seen"
    if not loss.size:
        raise ValueError("the history is empty: no epochs to plot")
    epoch = np.asarray(history.epoch)
    x = epoch if epoch.shape == loss.shape else np.arange(loss.size)
    series = [(x, loss, "training loss", _style(loss.size))]
    if val.size:
        if val.shape != loss.shape:
            raise ValueError(f"history.val_loss has {val.size} entries but history.loss has {loss.size}")
        series.append((x, val, "validation loss", _style(val.size)))
    return series, "epoch"


def _style(n, marker=False):
    """Line style: markers when there are few points, so one epoch still shows."""
    return {"marker": "o", "markersize": 4} if marker or n <= 30 else {}


def draw_network(net, ax=None, *, path=None, names=None, values=None, digits=3, title=None,
                 dpi=150):
    """Draw a small network like the worked example's figure: the units as
    labelled circles (inputs i, hidden h, outputs o), every connection with its
    weight, and the biases (a bias unit b per layer for ``bias="shared"``, the
    value inside each unit for ``bias="neuron"``).  Blue lines are positive
    weights, red negative, thicker for larger magnitudes.

    names:  label each connection w1, w2, ... in the order of ``net.params``
            (``weights[l][j, i]`` row by row, layer by layer: the worked
            example's w1..w8)
    values: write the weights and biases
    digits: significant digits of the values
    ax, path, title, dpi: as for ``plot_history``

    ``names`` and ``values`` default to True for networks of up to
    ``MAX_LABELLED`` connections and False for larger ones.  Layers may have
    at most ``MAX_UNITS`` units.  Returns the Axes.
    """
    _check_fields(net, "net", "Network", _NETWORK_FIELDS)
    sizes = net.sizes
    if max(sizes) > MAX_UNITS:
        raise ValueError(f"draw_network draws small networks, with at most {MAX_UNITS} units per "
                         f"layer; this one has layer sizes {list(sizes)}")
    n_layers = len(sizes) - 1
    small = sum(a * b for a, b in zip(sizes, sizes[1:])) <= MAX_LABELLED
    names = small if names is None else names
    values = small if values is None else values
    shared = net.bias == "shared"
    top = (max(sizes) - 1) * _DY / 2
    bottom = -top - (_BIAS_DROP if shared else 0.0)
    gaps = [_DX + (_DX_PER_UNIT * max(0, max(a, b) - 2) if names or values else 0.0)
            for a, b in zip(sizes, sizes[1:])]
    xs = np.concatenate([[0.0], np.cumsum(gaps)])
    x_lim = (-_R - 0.4, xs[-1] + _R + 0.4)
    y_lim = (bottom - _R - (0.6 if shared else 0.3), top + _R + 1.0)
    ax = _axes(ax, path, ((x_lim[1] - x_lim[0]) * INCHES_PER_UNIT,
                          (y_lim[1] - y_lim[0]) * INCHES_PER_UNIT))

    pos = [[(xs[l], (n - 1) * _DY / 2 - j * _DY) for j in range(n)] for l, n in enumerate(sizes)]
    scale = max(float(np.abs(net.params).max()), 1e-300)
    fmt = f"{{:.{digits}g}}".format
    connections = []
    for l, W in enumerate(net.weights):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                k = len(connections) + 1
                label = " = ".join(([f"$w_{{{k}}}$"] if names else []) + ([fmt(W[j, i])] if values else []))
                connections.append((pos[l][i], pos[l + 1][j], W[j, i], label))
    units = [xy for layer in pos for xy in layer]
    positions = _label_positions(connections, units) if names or values else [None] * len(connections)
    for (a, b, w, label), t in zip(connections, positions):
        _connection(ax, a, b, w, scale, label, t)
    for l in range(len(sizes)):
        kind = "input" if l == 0 else "output" if l == n_layers else "hidden"
        for j, (x, y) in enumerate(pos[l]):
            bias = net.biases[l - 1][j] if l and net.bias == "neuron" and values else None
            _unit(ax, x, y, _unit_name(l, j, n_layers), kind, None if bias is None else fmt(bias))
        caption = kind if l == 0 else f"{kind}\n{net.activations[l - 1]}"
        ax.text(pos[l][0][0], top + _R + 0.85, caption, ha="center", va="top", fontsize=10)
    if shared:
        for l in range(1, len(sizes)):
            bx, by = xs[l - 1] + 0.45 * gaps[l - 1], bottom
            for x, y in pos[l]:
                _line(ax, (bx, by), (x, y), color="#888888", linestyle=(0, (3, 2)), lw=0.9)
            _unit(ax, bx, by, f"$b_{{{l}}}$", "bias", None)
            text = f"b{l}" + (f" = {fmt(net.biases[l - 1][0])}" if values else "")
            ax.text(bx, by - _R - 0.12, text + ("" if net.train_bias else " (fixed)"),
                    ha="center", va="top", fontsize=8.5)
    ax.set_xlim(*x_lim)
    ax.set_ylim(*y_lim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title is not None:
        ax.set_title(title)
    _save(ax, path, dpi)
    return ax


def _unit_name(l, j, n_layers):
    if l == 0:
        return f"$i_{{{j + 1}}}$"
    if l == n_layers:
        return f"$o_{{{j + 1}}}$"
    return f"$h_{{{j + 1}}}$" if n_layers == 2 else f"$h^{{({l})}}_{{{j + 1}}}$"


def _unit(ax, x, y, name, kind, bias):
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), _R, facecolor=_COLORS[kind], edgecolor="#333333", lw=1.2, zorder=3))
    if bias is None:
        ax.text(x, y, name, ha="center", va="center", fontsize=12, zorder=4)
    else:
        ax.text(x, y + 0.12, name, ha="center", va="center", fontsize=11, zorder=4)
        text = f"b={bias}"
        # at most 6.5 pt, less if needed to fit the circle's chord 0.18 below the centre
        chord = 2 * np.sqrt(_R ** 2 - 0.18 ** 2) * 0.9
        size = min(6.5, chord * INCHES_PER_UNIT * 72 / (0.7 * len(text)))
        ax.text(x, y - 0.18, text, ha="center", va="center", fontsize=size, zorder=4)


def _line(ax, a, b, **style):
    """A line between the rims of two unit circles centred at a and b."""
    (x0, y0), (x1, y1) = a, b
    d = np.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / d, (y1 - y0) / d
    ax.plot([x0 + _R * ux, x1 - _R * ux], [y0 + _R * uy, y1 - _R * uy], zorder=1, **style)


def _connection(ax, a, b, w, scale, label, t):
    color = _POSITIVE if w >= 0 else _NEGATIVE
    _line(ax, a, b, color=color, lw=0.6 + 2.0 * abs(w) / scale, solid_capstyle="round")
    if label:
        (x0, y0), (x1, y1) = a, b
        angle = np.degrees(np.arctan2(y1 - y0, x1 - x0))
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), label, ha="center", va="center",
                fontsize=_LABEL_PT, color=color, rotation=angle, rotation_mode="anchor", zorder=2,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


def _label_positions(connections, units, passes=3):
    """Where along each connection (0 at its source, 1 at its target) to put
    its label.  Each label avoids, in this order of importance, the units and
    the other labels, then the other connections' lines, and otherwise stays
    near ``_LABEL_AT``; chosen greedily, then revised in a few passes."""
    n = len(connections)
    ends = np.array([(a, b) for a, b, _, _ in connections], dtype=float)      # (n, 2, 2)
    vec = ends[:, 1] - ends[:, 0]
    length = np.hypot(vec[:, 0], vec[:, 1])
    along = vec / length[:, None]
    half = np.column_stack([[_label_width(c[3]) / 2 + 0.06 for c in connections], np.full(n, 0.14)])
    lo = np.minimum(0.5, (_R + half[:, 0]) / length)
    ts = lo[:, None] + (1 - 2 * lo[:, None]) * np.linspace(0, 1, 15)         # (n, 15)
    centres = ends[:, 0, None, :] + ts[..., None] * vec[:, None, :]            # (n, 15, 2)
    units = np.asarray(units, dtype=float)
    unit_boxes = (units, np.tile([1.0, 0.0], (len(units), 1)), np.full((len(units), 2), _R))
    line_boxes = ((ends[:, 0] + ends[:, 1]) / 2, along,
                  np.column_stack([length / 2 - _R, np.full(n, 0.02)]))
    pick = np.full(n, -1)
    for _ in range(passes):
        for k in range(n):
            mine = np.arange(n) == k
            others = (pick >= 0) & ~mine
            label_boxes = (centres[others, pick[others]], along[others], half[others])
            crossing = tuple(a[~mine] for a in line_boxes)
            cost = []
            for c in range(ts.shape[1]):
                box = (centres[k, c], along[k], half[k])
                cost.append((_overlaps(box, *unit_boxes).sum() + _overlaps(box, *label_boxes).sum(),
                             _overlaps(box, *crossing).sum(), abs(ts[k, c] - _LABEL_AT)))
            pick[k] = min(range(len(cost)), key=cost.__getitem__)
    return ts[np.arange(n), pick]


def _overlaps(box, centres, dirs, halves):
    """Which of the rectangles (centres, unit directions, half extents: (m, 2)
    arrays) overlap the rectangle ``box`` (one of each), by the separating
    axis theorem."""
    c, u, h = box
    d = centres - c
    normals = np.column_stack([-dirs[:, 1], dirs[:, 0]])
    n = np.array([-u[1], u[0]])
    separated = np.zeros(len(centres), dtype=bool)
    for axis in (np.broadcast_to(u, dirs.shape), np.broadcast_to(n, dirs.shape), dirs, normals):
        r_box = h[0] * np.abs(axis @ u) + h[1] * np.abs(axis @ n)
        r_other = (halves[:, 0] * np.abs(np.sum(dirs * axis, axis=1))
                   + halves[:, 1] * np.abs(np.sum(normals * axis, axis=1)))
        separated |= np.abs(np.sum(d * axis, axis=1)) >= r_box + r_other
    return ~separated


# Advance widths (in ems) of the DejaVu Sans characters in labels; subscripts
# are set at 70 %.
_EM = {**dict.fromkeys("0123456789", 0.636), ".": 0.318, " ": 0.318, "=": 0.838, "-": 0.361,
       "+": 0.838, "e": 0.615, "w": 0.818}


def _label_width(label):
    """The width of a connection label such as ``$w_{12}$ = -0.345`` in
    drawing units."""
    head, _, tail = label.rpartition("$")
    subscript = head[head.find("{") + 1:head.find("}")] if head else ""
    ems = (_EM["w"] + 0.7 * sum(_EM.get(c, 0.7) for c in subscript) if head else 0.0) \
        + sum(_EM.get(c, 0.7) for c in tail)
    return ems * _LABEL_PT / 72 / INCHES_PER_UNIT
