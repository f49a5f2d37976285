import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

import mylib.style


def test_explorer_redraws_on_slider_change_and_closes_figures():
    calls = []

    def draw(a):
        calls.append(a)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, a])
        return fig

    slider = widgets.IntSlider(value=1, min=0, max=5)
    open_before = len(plt.get_fignums())
    box = mylib.style.explorer(draw, a=slider)
    first = box.children[1].value
    assert first[:4] == b"\x89PNG" and calls == [1]
    slider.value = 4
    assert calls == [1, 4] and box.children[1].value != first
    assert len(plt.get_fignums()) == open_before  # figures are closed after rendering


def test_explorer_rejects_bad_controls():
    with pytest.raises(ValueError, match="at least one"):
        mylib.style.explorer(lambda: None)
    with pytest.raises(ValueError, match="no value"):
        mylib.style.explorer(lambda a: None, a=3)


def test_house_style_is_applied():
    matplotlib.rcParams["axes.spines.top"] = True  # as matplotlib's default leaves it
    mylib.style.apply()
    assert matplotlib.rcParams["axes.spines.top"] is False


def test_method_colors_are_distinct_then_stable(monkeypatch):
    monkeypatch.setattr(mylib.style, "_METHOD_COLORS", {})
    names = [f"method {i}" for i in range(len(mylib.style.PALETTE))]
    colors = [mylib.style.method_color(n) for n in names]
    assert len(set(colors)) == len(names)  # as many distinct colours as the palette has
    assert colors[0] == mylib.style.PALETTE[0] and colors[-1] == mylib.style.PALETTE[-1]
    assert [mylib.style.method_color(n) for n in reversed(names)] == colors[::-1]  # a name keeps its colour
