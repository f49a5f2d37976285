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
REPO_REF = CONFIG["repository"]["release"]


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
    pin = f'REPO_URL, REPO_REF = "{REPO_URL}", "{REPO_REF}"'
    assert pin in cells[0].source and "git+{REPO_URL}@{REPO_REF}" in cells[0].source, \
        f"Colab cell must install the release of _config.yml: {pin} (see `make repo-url`)"
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


def test_set_repo_url_rewrites_url_and_release_everywhere(tmp_path, monkeypatch):
    """tools/set_repo_url.py on a copy of the repository: every Colab cell, the config and pyproject follow."""
    import importlib.util
    import shutil

    for name in ("_config.yml", "pyproject.toml", "notebooks", "tools/notebook_template.md"):
        src, dst = ROOT / name, tmp_path / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    spec = importlib.util.spec_from_file_location("set_repo_url", ROOT / "tools" / "set_repo_url.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    tool.main("https://github.com/someone/fork", "v9.9")
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())["repository"]
    assert (config["url"], config["release"]) == ("https://github.com/someone/fork", "v9.9")
    for md in sorted((tmp_path / "notebooks").glob("*.md")):
        for nb in (jupytext.read(md), nbformat.read(md.with_suffix(".ipynb"), as_version=4)):
            assert tool.colab_line("https://github.com/someone/fork", "v9.9") in code_cells(nb)[0].source, md.name
    assert REPO_URL not in (tmp_path / "pyproject.toml").read_text()
    with pytest.raises(SystemExit):
        tool.main("https://example.com/x")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_device_notebooks_refuse_full_without_cuda(md):
    """A notebook that picks a device does so through require_device_for (full refused on a CPU runtime)."""
    text = md.read_text()
    assert "mylib.get_device()" not in text, "use mylib.runtime.require_device_for(profile) in the set-up cell"


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


@pytest.mark.parametrize("folder", ["mylib", "tests", "tools", "benchmarks", "book/_ext"])
def test_sources_compile_without_warnings(folder):
    """An invalid escape such as ``"\\m"`` in a docstring compiles with only a warning, and ``"\\b"`` silently becomes
    a backspace in the rendered formula: every source compiles with warnings as errors (mutation: a docstring with
    ``:math:`\\bar d``` in a non-raw string fails here)."""
    import warnings

    for path in sorted((ROOT / folder).rglob("*.py")):
        text = path.read_text()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(text, str(path), "exec")
        assert "\b" not in text, f"{path}: a backspace character (an unescaped \\b in a string?)"


def test_source_compile_check_can_fail():
    import warnings

    with warnings.catch_warnings(), pytest.raises(SyntaxError):
        warnings.simplefilter("error")
        compile('"""With :math:`\\mathrm{SE}`."""', "x.py", "exec")
