#!/usr/bin/env python
"""Check in a headless browser that the static explorers of a page work with no kernel and no network.

For each HTML file given (a built book page such as ``_build/html/notebooks/part4_explorer.html``, or a standalone
page from :meth:`mylib.static_explorer.StaticExplorer.standalone_html`), the script writes two copies next to it:
one unchanged, one with a small script appended that moves every slider of every static explorer to its last
position and fires the ``input`` event, exactly as a reader's drag does. Headless Chromium (``--dump-dom``) loads
both; the check passes when, for every explorer, the moved copy shows another frame (``data-key``) whose image
``src`` is the precomputed frame of that key, and the output labels changed. With ``--screenshots DIR`` it also saves
a screenshot of each state and checks the pixels differ. Chromium runs with ``--headless --no-sandbox
--disable-gpu`` and with networking disabled (a proxy that does not exist), so nothing can come from a CDN.

Usage::

    python tools/check_static_explorer.py _build/html/notebooks/part4_explorer.html [--screenshots /tmp/shots]
    python tools/check_static_explorer.py --demo              # builds a small explorer and checks it

Exit status 0 when every page passes, 1 otherwise, 2 when no Chromium is found.
"""
from __future__ import annotations

import argparse
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Appended to a copy of the page: moves every static-explorer slider to its last stop, as a drag would.
MOVE_SCRIPT = """<script>
(function(){
  var boxes = document.querySelectorAll('.static-explorer');
  boxes.forEach(function(box){
    box.querySelectorAll('input[type=range]').forEach(function(s){
      s.value = s.max; s.dispatchEvent(new Event('input', {bubbles: true}));
    });
  });
  PIN();
})();
</script>"""
# Both copies pin the first explorer to the top of the viewport, so that the screenshot shows it on any page layout.
PIN_JS = ("function PIN(){var b=document.querySelector('.static-explorer');if(b){b.style.cssText+="
          "';position:fixed;top:0;left:0;z-index:2147483647;background:white;width:1180px;padding:8px';}}")
MOVE_SCRIPT = MOVE_SCRIPT.replace("<script>", "<script>" + PIN_JS, 1)
SCROLL_SCRIPT = "<script>" + PIN_JS + "PIN();</script>"


def find_browser() -> str | None:
    """Path of a Chromium-family browser, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class _Explorers(html.parser.HTMLParser):
    """Collect, per static explorer: the image's data-key and src, the frames JSON, the output texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: dict[str, dict] = {}
        self._json_for: str | None = None
        self._out_for: tuple[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        ident = a.get("id") or ""
        if tag == "div" and "static-explorer" in (a.get("class") or "").split():
            self.found.setdefault(ident, {"outputs": {}})
        elif tag == "img" and ident.endswith("-img"):
            self.found.setdefault(ident[:-4], {"outputs": {}}).update(key=a.get("data-key"), src=a.get("src"))
        elif tag == "script" and ident.endswith("-frames"):
            self._json_for = ident[:-7]
        elif tag == "output" and "-o" in ident:
            uid, j = ident.rsplit("-o", 1)
            self._out_for = (uid, j)

    def handle_data(self, data):
        if self._json_for is not None:
            self.found.setdefault(self._json_for, {"outputs": {}}).setdefault("frames_text", "")
            self.found[self._json_for]["frames_text"] += data
        if self._out_for is not None:
            uid, j = self._out_for
            self.found.setdefault(uid, {"outputs": {}})["outputs"][j] = data

    def handle_endtag(self, tag):
        if tag == "script":
            self._json_for = None
        if tag == "output":
            self._out_for = None


def parse_explorers(dom: str) -> dict[str, dict]:
    """Static explorers in an HTML document: ``uid -> {key, src, frames, outputs}``."""
    p = _Explorers()
    p.feed(dom)
    out = {}
    for uid, d in p.found.items():
        if "key" not in d:
            continue
        d["frames"] = json.loads(d.pop("frames_text", "{}") or "{}")
        out[uid] = d
    return out


def _chromium(browser: str, args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1200,1000", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def check_page(page: str | Path, browser: str, screenshots: str | Path | None = None) -> dict:
    """Load ``page`` as is and with every slider moved; return the explorers' states and a verdict.

    Returns
    -------
    dict
        ``ok`` (bool), ``explorers`` (number found), ``details`` (per explorer: key before/after, whether ``src``
        equals the precomputed frame, output labels before/after), ``messages`` (why it failed) and, with
        ``screenshots``, the two PNG paths and whether their pixels differ.
    """
    page = Path(page).resolve()
    text = page.read_text(encoding="utf-8")
    if "</body>" not in text:
        text += "</body>"
    states = {}
    shots = {}
    with tempfile.TemporaryDirectory(dir=page.parent, prefix=".sxcheck-") as tmp:
        for state, script in (("initial", SCROLL_SCRIPT), ("moved", MOVE_SCRIPT)):
            copy = Path(tmp) / f"{state}-{page.name}"
            copy.write_text(text.replace("</body>", script + "</body>", 1), encoding="utf-8")
            res = _chromium(browser, ["--dump-dom", copy.as_uri()])
            if res.returncode != 0:
                raise RuntimeError(f"chromium failed ({res.returncode}): {res.stderr[-2000:]}")
            states[state] = parse_explorers(res.stdout)
            if screenshots is not None:
                Path(screenshots).mkdir(parents=True, exist_ok=True)
                shot = Path(screenshots).resolve() / f"{page.stem}-{state}.png"
                res = _chromium(browser, [f"--screenshot={shot}", copy.as_uri()])
                if res.returncode != 0 or not shot.exists():
                    raise RuntimeError(f"chromium screenshot failed ({res.returncode}): {res.stderr[-2000:]}")
                shots[state] = shot
    before, after = states["initial"], states["moved"]
    messages, details = [], {}
    if not before:
        messages.append("no static explorer found on the page")
    for uid, b in before.items():
        a = after.get(uid)
        if a is None:
            messages.append(f"{uid}: missing after the move")
            continue
        d = {"key_before": b["key"], "key_after": a["key"], "frames": len(b["frames"]),
             "src_is_frame_before": b["src"] == b["frames"].get(b["key"]),
             "src_is_frame_after": a["src"] == a["frames"].get(a["key"]),
             "outputs_before": b["outputs"], "outputs_after": a["outputs"]}
        details[uid] = d
        if len(b["frames"]) > 1 and a["key"] == b["key"]:
            messages.append(f"{uid}: moving the sliders did not change the frame (key {a['key']})")
        if not (d["src_is_frame_before"] and d["src_is_frame_after"]):
            messages.append(f"{uid}: the image does not show the frame of its key")
        if a["src"] == b["src"] and len(set(b["frames"].values())) > 1:
            messages.append(f"{uid}: the image source did not change")
    result = {"ok": not messages, "explorers": len(before), "details": details, "messages": messages}
    if shots:
        from PIL import Image, ImageChops

        ia, ib = (Image.open(shots[s]).convert("RGB") for s in ("initial", "moved"))
        differ = ia.size != ib.size or ImageChops.difference(ia, ib).getbbox() is not None
        result.update(screenshots={k: str(v) for k, v in shots.items()}, pixels_differ=differ)
        if not differ:
            result["ok"] = False
            messages.append("the screenshots before and after the move are identical")
    return result


def demo_page(directory: str | Path) -> Path:
    """Write a standalone page with a small two-control explorer into ``directory``; return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from mylib.static_explorer import static_explorer

    def draw(freq, amplitude):
        fig, ax = plt.subplots(figsize=(4, 2.5))
        x = np.linspace(0, 1, 200)
        ax.plot(x, amplitude * np.sin(2 * np.pi * freq * x), lw=3)
        ax.set_ylim(-3.2, 3.2)
        ax.set_title(f"freq {freq}, amplitude {amplitude}")
        return fig

    ex = static_explorer(draw, freq=[1, 2, 4], amplitude=[1.0, 3.0], title="demo explorer", dpi=50)
    path = Path(directory) / "static_explorer_demo.html"
    path.write_text(ex.standalone_html(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="*", help="HTML files holding static explorers")
    ap.add_argument("--demo", action="store_true", help="build and check a small standalone explorer page")
    ap.add_argument("--screenshots", help="directory for before/after screenshots (also compares their pixels)")
    ap.add_argument("--browser", help="browser executable (default: the first Chromium on PATH)")
    args = ap.parse_args(argv)
    browser = args.browser or find_browser()
    if browser is None:
        print("no Chromium found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    pages = list(args.pages)
    tmpdir = None
    if args.demo:
        tmpdir = tempfile.mkdtemp(prefix="sxdemo-")
        pages.append(str(demo_page(tmpdir)))
    if not pages:
        ap.error("give at least one page or --demo")
    ok = True
    for page in pages:
        res = check_page(page, browser, args.screenshots)
        ok &= res["ok"]
        print(f"{'PASS' if res['ok'] else 'FAIL'} {page}: {res['explorers']} explorer(s)")
        for uid, d in res["details"].items():
            print(f"  {uid}: frame {d['key_before']} -> {d['key_after']} of {d['frames']}; "
                  f"labels {list(d['outputs_before'].values())} -> {list(d['outputs_after'].values())}; "
                  f"image = frame of its key: {d['src_is_frame_before'] and d['src_is_frame_after']}")
        if "pixels_differ" in res:
            print(f"  screenshots {res['screenshots']['initial']} / {res['screenshots']['moved']}: "
                  f"pixels differ: {res['pixels_differ']}")
        for m in res["messages"]:
            print(f"  ! {m}")
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
