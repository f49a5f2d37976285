"""Structural checks on the book: notebook pairing, parameters, Colab cell, repository URL, table of contents."""
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def toc_files():
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files.append(toc["root"])
    walk(toc.get("parts", []))
    return files


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_paired_and_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make references NB={md.relative_to(ROOT)}`"
    src = [c.source.strip() for c in jupytext.read(md).cells]
    ref = [c.source.strip() for c in nbformat.read(ipynb, as_version=4).cells]
    assert src == ref, f"{ipynb.name} is out of date with {md.name}: run `make references NB=...`"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(md):
    cells = code_cells(jupytext.read(md))
    assert 'if "google.colab" in sys.modules' in cells[0].source, "first code cell must be the Colab install cell"
    assert REPO_URL in cells[0].source, f"Colab cell must install from {REPO_URL} (see `make repo-url`)"
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged `parameters`"
    assert re.search(r'^profile = "smoke"$', params[0].source, re.M)
    assert re.search(r"^seed = 0$", params[0].source, re.M)
    checked = [c for c in cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert checked, "at least one cell tagged nbval-check-output (key numbers)"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_reference_outputs_have_no_errors(md):
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    for cell in code_cells(nb):
        assert all(o.get("output_type") != "error" for o in cell.get("outputs", [])), cell.source[:80]
        if "nbval-check-output" in cell.metadata.get("tags", []):
            assert cell.get("outputs"), f"checked cell has no reference output: {cell.source[:60]!r}"


def test_every_notebook_and_chapter_is_in_the_toc():
    listed = set(toc_files())
    for md in NOTEBOOKS:
        assert f"notebooks/{md.stem}" in listed, f"{md.name} is not in _toc.yml"
    for page in (ROOT / "book").glob("*.md"):
        assert f"book/{page.stem}" in listed, f"{page.name} is not in _toc.yml"
    for f in listed:
        assert (ROOT / f"{f}.md").exists(), f"_toc.yml lists {f}, which does not exist"


def test_repository_url_is_consistent():
    assert REPO_URL in (ROOT / "pyproject.toml").read_text()


def test_pinned_requirements_keep_the_cpu_torch():
    assert (ROOT / "requirements/torch.txt").read_text().split() == ["torch==2.13.0"]
    book = (ROOT / "requirements/book.txt").read_text()
    assert "jupyter-book==1.0.4.post1" in book
    assert not re.search(r"^(torch|nvidia-)", book, re.M)


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_captioned_figures_have_images_in_the_reference(md):
    """A cell with a figure caption must have drawn a figure (catches a non-inline matplotlib backend)."""
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    for cell in code_cells(nb):
        if "figure" in cell.metadata.get("mystnb", {}):
            assert any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])), cell.source[:60]
