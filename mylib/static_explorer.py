"""Explorers that work in the built page without a kernel: precomputed frames behind HTML range sliders.

:func:`mylib.style.explorer` redraws a figure from ipywidgets sliders, which needs a live kernel (Colab, Jupyter).
The book is static HTML, so on its pages those sliders show the default figure only. :func:`static_explorer`
renders the figure once for every point of a small grid of control values and emits **one self-contained HTML
output**: an ``<input type="range">`` per control, an ``<img>`` and a few lines of inline JavaScript that swap the
image's ``src`` to the precomputed frame (a PNG data URI) of the chosen values. No kernel, no CDN, no network: it
works offline in the built book, in a downloaded page and in a trusted notebook.

Frames are indexed by the position of each control's value in its list, in the order the controls are given
(C order of the product grid): for controls ``a`` (values ``a_0..a_{k-1}``) and ``b`` (``b_0..b_{m-1}``), the frame
of ``(a_i, b_j)`` is number ``i * m + j``. The HTML stores that index in each image as ``data-key="i,j"``.

Examples
--------
>>> import matplotlib.pyplot as plt, numpy as np
>>> def draw(freq, phase):
...     fig, ax = plt.subplots(figsize=(3, 2))
...     x = np.linspace(0, 1, 50)
...     ax.plot(x, np.sin(2 * np.pi * (freq * x + phase)))
...     return fig
>>> ex = static_explorer(draw, freq=[1, 2, 3], phase=[0.0, 0.25])   # 6 frames
>>> ex.frame_index(freq=2, phase=0.25)
3
"""
from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import numbers
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

__all__ = ["StaticExplorer", "static_explorer", "render_frame", "MAX_FRAMES"]

#: Default cap on the number of precomputed frames (product of the controls' list lengths).
MAX_FRAMES = 64


def _format_value(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    return f"{float(v):.4g}"


def render_frame(fig, dpi: int = 72, colors: int | None = 256) -> bytes:
    """PNG bytes of a matplotlib figure, optionally quantised to a palette of ``colors`` colours.

    Quantisation (Pillow, no dithering) makes line plots about three times smaller with no visible change, which
    keeps a notebook holding dozens of frames small.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int
        Resolution of the PNG, ``>= 10``.
    colors : int or None
        Palette size in ``[2, 256]``; ``None`` keeps full colour.

    Returns
    -------
    bytes
        A PNG image.

    Raises
    ------
    ValueError
        For ``dpi < 10`` or ``colors`` outside ``[2, 256]``.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Integral) or dpi < 10:
        raise ValueError(f"dpi must be an integer >= 10, got {dpi!r}")
    if colors is not None and (isinstance(colors, bool) or not isinstance(colors, numbers.Integral)
                               or not 2 <= colors <= 256):
        raise ValueError(f"colors must be None or an integer in [2, 256], got {colors!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=int(dpi))
    data = buf.getvalue()
    if colors is None:
        return data
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    q = img.quantize(colors=int(colors), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    q.save(out, format="PNG", optimize=True)
    return out.getvalue()


@dataclass(repr=False)
class StaticExplorer:
    """Precomputed frames of a figure over a grid of control values, displayed as an offline HTML slider widget.

    Built by :func:`static_explorer`. In a notebook the object displays itself (``_repr_html_``); :meth:`html`
    returns the same markup, :meth:`standalone_html` a complete page.

    Attributes
    ----------
    controls : dict[str, list]
        Control name -> its values (the slider's stops), in display order.
    frames : list[bytes]
        PNG bytes, one per point of the product grid, in C order (:meth:`frame_index`).
    default : dict
        The values shown first.
    labels : dict[str, str]
        Display label per control.
    title : str
        Text shown above the sliders (may be empty).
    uid : str
        Unique prefix of the HTML element ids (several explorers may share a page).
    """

    controls: dict[str, list]
    frames: list[bytes]
    default: dict[str, Any]
    labels: dict[str, str]
    title: str = ""
    uid: str = field(default_factory=lambda: "sx" + uuid.uuid4().hex[:10])

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of stops per control."""
        return tuple(len(v) for v in self.controls.values())

    def positions(self, **values: Any) -> tuple[int, ...]:
        """Slider positions (indices into each control's list) of ``values``; missing controls take the default.

        Raises
        ------
        ValueError
            For an unknown control or a value that is not one of the control's stops.
        """
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; controls are {list(self.controls)}")
        pos = []
        for name, stops in self.controls.items():
            v = values.get(name, self.default[name])
            matches = [i for i, s in enumerate(stops) if s == v or (_is_real(s) and _is_real(v)
                                                                    and math.isclose(s, v, rel_tol=1e-12))]
            if not matches:
                raise ValueError(f"{name}={v!r} is not one of the precomputed values {stops}")
            pos.append(matches[0])
        return tuple(pos)

    def frame_index(self, **values: Any) -> int:
        """Index into :attr:`frames` of the frame drawn at ``values`` (C order over the controls)."""
        idx = 0
        for p, k in zip(self.positions(**values), self.shape):
            idx = idx * k + p
        return idx

    def frame(self, **values: Any) -> bytes:
        """PNG bytes of the frame drawn at ``values``."""
        return self.frames[self.frame_index(**values)]

    def html(self) -> str:
        """The explorer as an HTML fragment: sliders, an image and inline JavaScript (no external resources)."""
        uid = self.uid
        keys = [",".join(map(str, pos)) for pos in itertools.product(*(range(k) for k in self.shape))]
        uris = {key: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                for key, png in zip(keys, self.frames)}
        start = self.positions()
        start_key = ",".join(map(str, start))
        rows = []
        for j, (name, stops) in enumerate(self.controls.items()):
            shown = [_format_value(s) for s in stops]
            rows.append(
                f'<label style="display:inline-flex;align-items:center;gap:.4em;margin-right:1.2em">'
                f'<span>{html.escape(self.labels[name])}</span>'
                f'<input type="range" id="{uid}-c{j}" data-control="{html.escape(name)}" min="0" '
                f'max="{len(stops) - 1}" step="1" value="{start[j]}" '
                f'data-values="{html.escape(json.dumps(shown))}" style="width:12em">'
                f'<output id="{uid}-o{j}">{html.escape(shown[start[j]])}</output></label>')
        title = f'<div style="font-weight:bold;margin-bottom:.3em">{html.escape(self.title)}</div>' if self.title \
            else ""
        script = (
            "(function(){"
            f"var uid={json.dumps(uid)},n={len(self.controls)};"
            f"var frames=JSON.parse(document.getElementById(uid+'-frames').textContent);"
            "var img=document.getElementById(uid+'-img');"
            "function update(){var pos=[];for(var j=0;j<n;j++){var s=document.getElementById(uid+'-c'+j);"
            "pos.push(s.value);var vals=JSON.parse(s.getAttribute('data-values'));"
            "document.getElementById(uid+'-o'+j).textContent=vals[+s.value];}"
            "var key=pos.join(',');if(frames[key]){img.src=frames[key];img.setAttribute('data-key',key);}}"
            "for(var j=0;j<n;j++){var s=document.getElementById(uid+'-c'+j);"
            "s.addEventListener('input',update);s.addEventListener('change',update);}"
            "update();})();")
        return (
            f'<div class="static-explorer" id="{uid}">{title}'
            f'<div style="display:flex;flex-wrap:wrap;margin-bottom:.4em">{"".join(rows)}</div>'
            f'<img id="{uid}-img" data-key="{start_key}" src="{uris[start_key]}" '
            f'alt="{html.escape(self.title or "explorer figure")}" style="max-width:100%">'
            f'<script type="application/json" id="{uid}-frames">{json.dumps(uris)}</script>'
            f"<script>{script}</script></div>")

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        grid = ", ".join(f"{k}={len(v)}" for k, v in self.controls.items())
        return f"StaticExplorer({grid}; {len(self.frames)} frames, {self.nbytes / 1024:.0f} kB)"

    def standalone_html(self, head: str = "", tail: str = "") -> str:
        """A complete HTML page holding the explorer (``head``/``tail``: extra markup, e.g. a test script)."""
        return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                f"{html.escape(self.title or 'explorer')}</title>{head}</head><body>{self.html()}{tail}"
                "</body></html>")

    @property
    def nbytes(self) -> int:
        """Total size of the PNG frames in bytes."""
        return sum(len(f) for f in self.frames)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def static_explorer(draw: Callable[..., Any], *, default: dict[str, Any] | None = None,
                    labels: dict[str, str] | None = None, title: str = "", dpi: int = 72,
                    colors: int | None = 256, max_frames: int = MAX_FRAMES,
                    **controls: Sequence[Any]) -> StaticExplorer:
    """Precompute ``draw`` over a grid of control values and return an offline slider explorer.

    ``draw(**values)`` must draw a new matplotlib figure (returning it, or leaving it current) without calling
    ``plt.show()`` -- the same contract as :func:`mylib.style.explorer`, so one drawing function serves the live
    sliders (Colab) and the static page. Every combination of the controls' values is drawn once (the product grid,
    at most ``max_frames`` frames); each figure is closed after rendering.

    Parameters
    ----------
    draw : callable
        ``draw(**values) -> Figure or None``.
    default : dict, optional
        Values shown first (each one of its control's stops); default: the middle stop of each control.
    labels : dict, optional
        Display label per control (default: the control's name).
    title : str
        Heading shown above the sliders.
    dpi : int
        Resolution of the frames.
    colors : int or None
        Palette size of the frames (:func:`render_frame`); ``None`` keeps full colour.
    max_frames : int
        Refuse grids with more frames than this (each frame is stored in the page).
    **controls : sequence
        Control name -> the values its slider steps through (at least one value each; at least one control).

    Returns
    -------
    StaticExplorer

    Raises
    ------
    ValueError
        No control, an empty or non-sequence control, a grid above ``max_frames``, an unknown name in
        ``default``/``labels``, or a default value not among its control's stops.
    TypeError
        If ``draw`` is not callable.
    """
    import matplotlib.pyplot as plt

    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if not controls:
        raise ValueError("static_explorer() needs at least one control (name=[values...])")
    stops: dict[str, list] = {}
    for name, values in controls.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ValueError(f"control {name!r} must be a sequence of values, got {type(values).__name__}")
        vals = [v.item() if hasattr(v, "item") and not isinstance(v, (list, tuple)) else v for v in values]
        if not vals:
            raise ValueError(f"control {name!r} has no values")
        stops[name] = vals
    if isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral) or max_frames < 1:
        raise ValueError(f"max_frames must be a positive integer, got {max_frames!r}")
    total = math.prod(len(v) for v in stops.values())
    if total > max_frames:
        raise ValueError(f"the grid has {total} frames ({' x '.join(str(len(v)) for v in stops.values())}), "
                         f"more than max_frames={max_frames}; use fewer values per control")
    for what, d in (("default", default), ("labels", labels)):
        if d is not None and set(d) - set(stops):
            raise ValueError(f"{what} names unknown control(s) {sorted(set(d) - set(stops))}")
    dflt = {name: vals[(len(vals) - 1) // 2] for name, vals in stops.items()}
    dflt.update(default or {})
    lab = {name: name for name in stops}
    lab.update(labels or {})
    explorer = StaticExplorer(controls=stops, frames=[], default=dflt, labels=lab, title=str(title))
    explorer.positions()  # validates the defaults
    frames = []
    for combo in itertools.product(*stops.values()):
        before = set(plt.get_fignums())
        fig = draw(**dict(zip(stops, combo)))
        if fig is None:
            fig = plt.gcf()
        try:
            frames.append(render_frame(fig, dpi=dpi, colors=colors))
        finally:
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
    explorer.frames = frames
    return explorer
