"""The book's plotting house style: ``import mylib.style`` once at the top of a notebook.

Importing applies a seaborn theme and matplotlib defaults (readable fonts, a
colour-blind-safe palette, tight layout, SVG-quality PNGs). :data:`PALETTE` names
the colours so that the same method has the same colour in every chapter.
"""
from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

__all__ = ["apply", "PALETTE", "method_color", "explorer"]

PALETTE = sns.color_palette("colorblind")

_METHOD_COLORS: dict[str, int] = {}


def apply() -> None:
    """Apply the house style (idempotent)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "figure.constrained_layout.use": True,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "font.size": 11,
    })


def method_color(name: str):
    """A stable colour for a method name (first come, first served across a session).

    Parameters
    ----------
    name : str
        The method's name as shown in legends.

    Returns
    -------
    tuple of 3 floats
        An RGB entry of :data:`PALETTE`; the first ``len(PALETTE)`` names get distinct colours, then they repeat.
    """
    if name not in _METHOD_COLORS:
        _METHOD_COLORS[name] = len(_METHOD_COLORS) % len(PALETTE)
    return PALETTE[_METHOD_COLORS[name]]


def explorer(draw, **controls):
    """Sliders that redraw a matplotlib figure: ``explorer(draw, C=IntSlider(...), noise=FloatSlider(...))``.

    ``draw(**values)`` must draw a new figure (returning it, or leaving it current) without calling
    ``plt.show()``. The figure is rendered to PNG into an :class:`ipywidgets.Image`, updated from the
    sliders' callbacks. Unlike ``ipywidgets.interact`` this needs no ``Output`` widget, whose message capture
    intermittently deadlocks headless executors (papermill, nbval, nbconvert), and the static page built from an
    executed notebook shows the sliders with the default figure. The figure moves in a live kernel (Colab).

    Parameters
    ----------
    draw : callable
        ``draw(**values)`` with one keyword per control, drawing a figure (returned, or left current).
    **controls
        Name -> an ipywidgets control with a ``value`` (e.g. ``IntSlider``); the names are ``draw``'s keywords.

    Returns
    -------
    ipywidgets.VBox
        The controls above the image of the figure.

    Raises
    ------
    ValueError
        If no control is given or a control has no ``value``.
    """
    import io

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    if not controls:
        raise ValueError("explorer() needs at least one control")
    for name, control in controls.items():
        if not hasattr(control, "value"):
            raise ValueError(f"control {name!r} has no value (pass an ipywidgets slider or similar)")
    image = widgets.Image(format="png")

    def render(_change=None):
        before = set(plt.get_fignums())
        fig = draw(**{name: control.value for name, control in controls.items()})
        if fig is None:
            fig = plt.gcf()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
        image.value = buf.getvalue()

    for control in controls.values():
        control.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                         image])


apply()
