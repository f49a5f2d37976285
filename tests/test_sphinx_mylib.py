"""The book's Sphinx extension (book/_ext/sphinx_mylib.py) on a two-page project: the back-links go both ways.

A module whose function cites ``{prf:ref}`thm-toy``` is documented with the ``mylib-api`` directive; the theorem's
page must end the theorem with "Implemented by" linking to the function's entry, and the function's entry must
link to the theorem. Without the extension (the mutation) neither link exists.
"""
from __future__ import annotations

import io
import pathlib
import re
import sys

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("sphinx_proof")
pytest.importorskip("myst_parser")
from sphinx.application import Sphinx  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import sphinx_mylib  # noqa: E402

TOY = '''"""Toy package for the extension's test ({prf:ref}`thm-toy`)."""
__all__ = ["square", "LIMIT"]

#: A documented constant.
LIMIT = 3


def square(x):
    """The square of ``x`` ({prf:ref}`thm-toy`); see also :func:`toy_api.square`.

    Parameters
    ----------
    x : float
        A number.

    Returns
    -------
    float
        :math:`x^2`.
    """
    return x * x
'''

INDEX = """# Toy

```{toctree}
theory
api
```
"""

THEORY = """# Theory

```{prf:theorem} Squares
:label: thm-toy

Squares are non-negative.
```
"""

API = """# API

```{eval-rst}
.. mylib-api:: toy_api
```
"""


def build(tmp_path: pathlib.Path, with_extension: bool) -> tuple[str, str, str]:
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "toy_api.py").write_text(TOY)
    (src / "index.md").write_text(INDEX)
    (src / "theory.md").write_text(THEORY)
    (src / "api.md").write_text(API if with_extension else API.replace("mylib-api:: toy_api",
                                                                       "automodule:: toy_api\n   :members:"))
    exts = ["myst_parser", "sphinx_proof", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
    if with_extension:
        exts.append("sphinx_mylib")
    (src / "conf.py").write_text(f"extensions = {exts!r}\nnapoleon_use_param = False\nautodoc_typehints = 'none'\n")
    warnings = io.StringIO()
    sys.path.insert(0, str(tmp_path))
    try:
        app = Sphinx(str(src), str(src), str(tmp_path / "html"), str(tmp_path / "doctrees"), "html",
                     status=None, warning=warnings, freshenv=True, keep_going=True)
        app.build()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("toy_api", None)
    html = tmp_path / "html"
    return (html / "theory.html").read_text(), (html / "api.html").read_text(), warnings.getvalue()


def test_back_links_both_ways(tmp_path):
    theory, api, warnings = build(tmp_path, with_extension=True)
    assert "WARNING" not in warnings and "ERROR" not in warnings, warnings
    # theorem -> function (the injected line), function -> theorem (the converted role)
    assert re.search(r'Implemented by: </strong>.*href="api.html#toy_api.square"', theory), theory
    assert 'href="theory.html#thm-toy"' in api
    # the module docstring cites the theorem too: both appear, each once
    line = re.search(r"Implemented by: </strong>(.*?)</p>", theory).group(1)
    assert line.count("toy_api.square") >= 1 and line.count('href="api.html#module-toy_api"') == 1
    # the constant is documented
    assert 'id="toy_api.LIMIT"' in api


def test_mutation_without_the_extension_no_links(tmp_path):
    theory, api, _ = build(tmp_path, with_extension=False)
    assert "Implemented by" not in theory
    assert 'href="theory.html#thm-toy"' not in api
    assert "{prf:ref}" in api  # the MyST role stays raw text in an RST docstring


def test_role_conversion_and_labels():
    assert sphinx_mylib.myst_to_rst("see {prf:ref}`thm-a` and {cite}`k`") == "see :prf:ref:`thm-a` and :cite:`k`"
    assert sphinx_mylib.cited_labels("{prf:ref}`thm-a`, {prf:ref}`the theorem <thm-b>`") == ["thm-a", "thm-b"]
