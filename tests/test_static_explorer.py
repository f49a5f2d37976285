"""The static (kernel-free) explorer: frames, HTML, slider -> frame mapping, and a headless-browser check."""
import base64
import importlib.util
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mylib.static_explorer import MAX_FRAMES, render_frame, static_explorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _draw(a, b):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, a * b], lw=3)
    ax.set_ylim(-1, 13)
    ax.set_title(f"{a} {b}")
    return fig


@pytest.fixture(scope="module")
def ex():
    return static_explorer(_draw, a=[1, 2, 3], b=[0.5, 4.0], dpi=30, title="t")


def test_frames_one_per_grid_point_and_distinct(ex):
    assert ex.shape == (3, 2)
    assert len(ex.frames) == 6
    assert all(f[:8] == b"\x89PNG\r\n\x1a\n" for f in ex.frames)
    assert len(set(ex.frames)) == 6  # every combination draws another figure


def test_frames_map_to_values_in_c_order(ex):
    # frame (a_i, b_j) is number i * 2 + j, and equals a fresh rendering of draw(a_i, b_j)
    for i, a in enumerate([1, 2, 3]):
        for j, b in enumerate([0.5, 4.0]):
            assert ex.frame_index(a=a, b=b) == i * 2 + j
            fig = _draw(a, b)
            assert ex.frame(a=a, b=b) == render_frame(fig, dpi=30)
            plt.close(fig)
    # the mutation "frames in Fortran order" would break the mapping
    fortran = [ex.frames[i * 2 + j] for j in range(2) for i in range(3)]
    assert fortran[ex.frame_index(a=2, b=0.5)] != ex.frame(a=2, b=0.5)


def test_html_holds_every_frame_and_the_sliders(ex):
    page = ex.html()
    frames = json.loads(re.search(r'id="%s-frames">(.*?)</script>' % ex.uid, page).group(1))
    assert set(frames) == {f"{i},{j}" for i in range(3) for j in range(2)}
    for key, uri in frames.items():
        i, j = map(int, key.split(","))
        assert base64.b64decode(uri.split(",", 1)[1]) == ex.frames[i * 2 + j]
    sliders = re.findall(r'<input type="range"[^>]*>', page)
    assert len(sliders) == 2
    assert 'max="2"' in sliders[0] and 'max="1"' in sliders[1]
    # default: the middle stop of each control, shown first
    assert ex.default == {"a": 2, "b": 0.5}
    img = re.search(r'<img id="%s-img" data-key="([^"]+)" src="([^"]+)"' % ex.uid, page)
    assert img.group(1) == "1,0" and img.group(2) == frames["1,0"]
    assert "http://" not in page and "https://" not in page  # nothing from the network
    assert ex._repr_html_() == page
    assert ex.standalone_html().startswith("<!DOCTYPE html>")
    # the plain-text fallback of a notebook output stays short (no frame bytes)
    assert repr(ex).startswith("StaticExplorer(a=3, b=2; 6 frames") and len(repr(ex)) < 100


def test_defaults_labels_and_numpy_values():
    e = static_explorer(_draw, a=np.array([1, 2]), b=[1.0], default={"a": 2}, labels={"a": "alpha"}, dpi=20)
    assert e.default == {"a": 2, "b": 1.0} and e.labels == {"a": "alpha", "b": "b"}
    assert type(e.controls["a"][0]) is int
    assert ">alpha<" in e.html()
    assert e.frame_index(a=2) == 1


def test_no_figures_left_open():
    before = set(plt.get_fignums())
    static_explorer(_draw, a=[1, 2], b=[1.0], dpi=20)
    assert set(plt.get_fignums()) == before


@pytest.mark.parametrize("kwargs, match", [
    (dict(), "at least one control"),
    (dict(a=[]), "no values"),
    (dict(a=3), "sequence"),
    (dict(a="xyz"), "sequence"),
    (dict(a=list(range(MAX_FRAMES + 1))), "max_frames"),
    (dict(a=[1, 2], default={"c": 1}), "unknown"),
    (dict(a=[1, 2], default={"a": 5}), "precomputed values"),
    (dict(a=[1, 2], max_frames=0), "max_frames"),
    (dict(a=[1, 2], dpi=3), "dpi"),
    (dict(a=[1, 2], colors=1), "colors"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        static_explorer(lambda a: _draw(a, 1.0), **kwargs)


def test_bad_draw_and_lookup(ex):
    with pytest.raises(TypeError, match="draw"):
        static_explorer(None, a=[1])
    with pytest.raises(ValueError, match="unknown control"):
        ex.frame_index(c=1)
    with pytest.raises(ValueError, match="precomputed"):
        ex.frame_index(a=7)


def _tool():
    spec = importlib.util.spec_from_file_location("check_static_explorer", ROOT / "tools" / "check_static_explorer.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tool_parses_the_explorer_markup(ex):
    found = _tool().parse_explorers(ex.standalone_html())
    assert list(found) == [ex.uid]
    d = found[ex.uid]
    assert d["key"] == "1,0" and d["src"] == d["frames"]["1,0"] and d["outputs"] == {"0": "2", "1": "0.5"}


@pytest.mark.skipif(_tool().find_browser() is None, reason="no Chromium on PATH (apt-get install -y chromium)")
def test_headless_browser_moves_the_frame(tmp_path):
    tool = _tool()
    page = tool.demo_page(tmp_path)
    res = tool.check_page(page, tool.find_browser(), screenshots=tmp_path / "shots")
    assert res["ok"], res["messages"]
    (d,) = res["details"].values()
    assert d["key_before"] == "1,0" and d["key_after"] == "2,1"
    assert res["pixels_differ"]
    # the mutation "no script" (a page whose sliders are inert) fails the same check
    inert = tmp_path / "inert.html"
    inert.write_text(re.sub(r"<script>\(function\(\)\{var uid.*?</script>", "", page.read_text()), encoding="utf-8")
    assert not tool.check_page(inert, tool.find_browser())["ok"]
