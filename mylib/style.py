"""The book's plotting house style: ``import mylib.style`` once at the top of a notebook.

Importing applies a seaborn theme and matplotlib defaults (readable fonts, a
colour-blind-safe palette, tight layout, SVG-quality PNGs). :data:`PALETTE` names
the colours so that the same method has the same colour in every chapter.
"""
from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

__all__ = ["apply", "PALETTE", "method_color"]

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
    """A stable colour for a method name (first come, first served across a session)."""
    if name not in _METHOD_COLORS:
        _METHOD_COLORS[name] = len(_METHOD_COLORS) % len(PALETTE)
    return PALETTE[_METHOD_COLORS[name]]


apply()
