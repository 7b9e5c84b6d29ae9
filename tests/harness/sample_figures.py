"""Realistic display lists for the renderer tests: built with gradclip.Figure, no demo needed.

A contour plot (raster + contour lines + a clipped descent + start handle + minimum), a log-scale
loss curve with a threshold line, and one figure holding every item type.
"""

from __future__ import annotations

import numpy as np

from gradclip.figures import Figure


def _valley(x, y):
    """A narrow valley with steep walls: small slope along x, a cliff-like rise across y."""
    return 0.05 * (x - 2.0) ** 2 + 0.5 * (np.cosh(2.2 * y) - 1.0)


def _grad(x, y):
    return 0.1 * (x - 2.0), 1.1 * np.sinh(2.2 * y)


def descent(steps: int = 500, lr: float = 0.3, tau: float = 1.0):
    """Norm-clipped gradient descent on the valley from (-2.5, 1.6): x, y, loss, raw norm."""
    p = np.array([-2.5, 1.6])
    xs, ys, loss, norm = [], [], [], []
    for _ in range(steps):
        g = np.array(_grad(*p))
        n = float(np.hypot(*g))
        xs.append(p[0]); ys.append(p[1]); loss.append(float(_valley(*p))); norm.append(n)
        if n > tau:
            g = g * (tau / n)
        p = p - lr * g
    return np.array(xs), np.array(ys), np.array(loss), np.array(norm)


def contour_figure(raster: int = 64, levels: int = 14) -> dict:
    import contourpy

    view = (-3.0, 3.0, -2.0, 2.0)
    gx = np.linspace(view[0], view[1], 120)
    gy = np.linspace(view[2], view[3], 80)
    X, Y = np.meshgrid(gx, gy)
    Z = _valley(X, Y)
    gen = contourpy.contour_generator(X, Y, Z)
    paths = []
    for lev in np.geomspace(0.02, 20, levels):
        for seg in gen.lines(lev):
            paths.append((seg[:, 0], seg[:, 1]))
    rx = np.linspace(view[0], view[1], raster)
    ry = np.linspace(view[2], view[3], raster)
    RX, RY = np.meshgrid(rx, ry)
    lz = np.log10(_valley(RX, RY) + 1e-3)
    vals = (lz - lz.min()) / (lz.max() - lz.min())
    xs, ys, loss, _ = descent()
    fig = Figure(x_range=view[:2], y_range=view[2:], x_label="x", y_label="y",
                 title="Loss surface and trajectory", aspect_equal=True, legend=True,
                 alt="Contour plot of a narrow valley; the clipped run walks down the wall and along the floor.",
                 width=480, height=340)
    fig.raster(vals, x_range=view[:2], y_range=view[2:], cmap="loss")
    fig.contours(paths, color="grid", width=1.0)
    fig.line(xs, ys, color="s0", width=2, label="norm clip", marker=True, hover=True,
             hover_names=("x", "y"))
    fig.marker(2.0, 0.0, shape="star", color="min", size=7, label="minimum")
    fig.handle(xs[0], ys[0], ("x0", "y0"))
    return fig.to_dict()


def loss_figure() -> dict:
    _, _, loss, norm = descent()
    steps = np.arange(len(loss))
    loss = loss.copy()
    loss[120:124] = np.nan            # a gap: a break in the line
    fig = Figure(x_range=(0, len(loss)), y_range=(1e-4, 1e2), y_log=True, x_label="step",
                 y_label="loss", title="Loss and raw gradient norm", legend=True,
                 alt="Loss falls from about 3 to below 0.001 on a log scale.", width=480, height=300)
    fig.line(steps, norm, color="s1", width=1.5, label="raw norm", hover=True,
             hover_names=("step", "norm"), marker=True)
    fig.line(steps, loss, color="s0", width=2, label="loss", hover=True,
             hover_names=("step", "loss"), marker=True)
    fig.hline(1.0, color="danger", dash=[5, 4], label="τ = 1")
    fig.text(len(loss) * 0.98, 1.3, "threshold τ", color="danger", anchor="end", size=11)
    return fig.to_dict()


# One item of each type, each alone enough to find in a picture (figure: x and y from 0 to 10).
ONE_OF_EACH = {
    "line": {"t": "line", "x": [1, 5], "y": [1, 5], "color": "s0", "width": 2},
    "points": {"t": "points", "x": [1, 2], "y": [1, 2], "color": "s1", "size": 3},
    "marker": {"t": "marker", "x": 5, "y": 5, "shape": "star", "color": "min", "size": 6},
    "hline": {"t": "hline", "y": 5, "color": "danger", "width": 1.5, "dash": [4, 3]},
    "vline": {"t": "vline", "x": 5, "color": "muted", "width": 1},
    "text": {"t": "text", "x": 5, "y": 5, "text": "hello", "color": "fg", "anchor": "middle", "size": 12},
    "raster": {"t": "raster", "values": [[0, 0.5], [1, None]], "x_range": [0, 10], "y_range": [0, 10], "cmap": "loss"},
    "contours": {"t": "contours", "paths": [{"x": [1, 2, 3], "y": [1, 2, 1]}], "color": "grid", "width": 1},
    "rects": {"t": "rects", "x0": [1], "x1": [2], "y0": [1], "y1": [2], "fill": ["ok"], "set": [{"tau": 1}]},
    "handle": {"t": "handle", "x": 3, "y": 3, "params": ["px", "py"], "color": "start"},
    "arrow": {"t": "arrow", "x0": 1, "y0": 1, "x1": 4, "y1": 4, "color": "s2", "width": 2},
    "circle": {"t": "circle", "cx": 5, "cy": 5, "r": 2, "color": "warn", "dash": [3, 2]},
}


def every_item_figure() -> dict:
    """One of each item type, placed apart so each can be found by its pixels."""
    fig = Figure(x_range=(0, 10), y_range=(0, 10), title="every item", legend=True, alt="all items",
                 width=400, height=400)
    fig.raster(np.linspace(0, 1, 16).reshape(4, 4), x_range=(0, 2), y_range=(0, 2), cmap="loss")
    fig.contours([([3, 4, 5], [1, 1.5, 1])], color="muted", width=2)
    fig.rects([6, 8], [7, 9], [0.5, 0.5], [1.5, 1.5], fill=["ok", "danger"],
              set_params=[{"tau": 0.5}, {"tau": 2.0}])
    fig.line([0.5, 2.5], [3, 3], color="s0", label="line", hover=True, hover_names=("a", "b"))
    fig.points([4, 4.5, 5], [3, 3, 3], color="s1", size=3, label="points")
    fig.marker(7, 3, shape="star", color="min", label="star")
    fig.hline(5, color="danger", label="h")
    fig.vline(9.5, color="muted")
    fig.text(1, 7, "hello", color="fg")
    fig.handle(5, 6.5, ("px", "py"))
    fig.arrow(6, 8, 8, 9, color="s2", label="arrow")
    fig.circle(2, 8.5, 1, color="warn", dash=[3, 2])
    return fig.to_dict()
