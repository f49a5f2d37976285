"""Every public callable of mylib has a numpydoc docstring, and the labels docstrings cite exist in the book.

"Public" is what the API reference documents (``book/_ext/sphinx_mylib.py``): the names in each module's
``__all__`` that the module defines, in every module and subpackage whose name does not start with ``_``.
A function or class that takes arguments needs a ``Parameters`` section; a function that returns a value needs
``Returns`` (or ``Yields``). Names still missing sections are listed in ``tests/docstring_exceptions.txt`` (to be
emptied); an entry that has become compliant, or no longer exists, fails the test so the list only shrinks.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pathlib
import re
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import sphinx_mylib  # noqa: E402  (the API reference's own notion of "public")

EXCEPTIONS_FILE = ROOT / "tests" / "docstring_exceptions.txt"
SECTION = re.compile(r"^\s*(Parameters|Returns|Yields|Raises|Attributes|Other Parameters)\s*\n\s*-{3,}\s*$", re.M)


# --------------------------------------------------------------------------- what is public
def public_objects(root: str = "mylib") -> dict[str, object]:
    out = {}
    for modname in sphinx_mylib.public_modules(root):
        mod = importlib.import_module(modname)
        for name in sphinx_mylib.own_members(modname):
            obj = getattr(mod, name)
            if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
                out[f"{modname}.{name}"] = obj
    return out


# --------------------------------------------------------------------------- the checks
def _sections(doc: str) -> set[str]:
    return set(SECTION.findall(doc))


def _takes_arguments(obj) -> bool:
    target = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and target is object.__init__:
        return False
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return False
    return any(p.name not in ("self", "cls") for p in params)


def _returns_value(func) -> bool:
    """A ``return <value>`` or ``yield`` in the function's own body (nested functions excluded)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    fn = tree.body[0]

    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            yield child
            yield from walk(child)

    for node in walk(fn):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
    return False


def docstring_problems(obj) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return ["no docstring"]
    found = _sections(doc)
    problems = []
    # a class may document its constructor's arguments as Attributes (dataclasses)
    accepted = {"Parameters", "Other Parameters"} | ({"Attributes"} if inspect.isclass(obj) else set())
    if _takes_arguments(obj) and not found & accepted:
        problems.append("no Parameters section")
    if not inspect.isclass(obj) and _returns_value(obj) and not found & {"Returns", "Yields"}:
        problems.append("no Returns section")
    return problems


def all_problems(objects: dict[str, object]) -> dict[str, list[str]]:
    return {name: p for name, obj in objects.items() if (p := docstring_problems(obj))}


def read_exceptions(path: pathlib.Path = EXCEPTIONS_FILE) -> set[str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return {l.split("#", 1)[0].strip() for l in lines} - {""}


def render_exceptions(problems: dict[str, list[str]]) -> str:
    head = ("# Public names of mylib whose docstrings still lack numpydoc sections (tests/test_api_docs.py).\n"
            "# Remove a line once its docstring is complete; the test fails on stale lines.\n")
    return head + "".join(f"{name}  # {', '.join(p)}\n" for name, p in sorted(problems.items()))


# --------------------------------------------------------------------------- book labels
def prf_labels() -> set[str]:
    labels = set()
    for md in (ROOT / "book").glob("*.md"):
        for block in re.findall(r"```\{prf:[a-z]+\}[^\n]*\n((?::[a-z-]+:[^\n]*\n)*)", md.read_text()):
            labels |= set(re.findall(r":label:\s*(\S+)", block))
    return labels


def ref_targets() -> set[str]:
    """Targets of ``{ref}``: ``(name)=`` anchors and ``:label:`` of any directive in book/ and notebooks/."""
    out = set()
    for md in [*(ROOT / "book").glob("*.md"), *(ROOT / "notebooks").glob("*.md")]:
        text = md.read_text()
        out |= set(re.findall(r"^\((\S+)\)=\s*$", text, flags=re.M))
        out |= set(re.findall(r"^:label:\s*(\S+)", text, flags=re.M))
    return out


def cited(role: str) -> dict[str, list[str]]:
    """label -> docstrings (qualified names) that cite it with ``{role}`label```, over modules, objects, methods."""
    out: dict[str, list[str]] = {}
    pattern = re.compile(r"\{" + re.escape(role) + r"\}`(?:[^`<]*<)?([^`>]+)>?`")
    for modname in sphinx_mylib.public_modules("mylib"):
        mod = importlib.import_module(modname)
        docs = {modname: mod.__doc__ or ""}
        for name, obj in vars(mod).items():
            if getattr(obj, "__module__", None) != modname:
                continue
            docs[f"{modname}.{name}"] = getattr(obj, "__doc__", "") or ""
            if inspect.isclass(obj):
                for mname, m in vars(obj).items():
                    docs[f"{modname}.{name}.{mname}"] = getattr(m, "__doc__", "") or ""
        for where, doc in docs.items():
            if isinstance(doc, str):
                for label in pattern.findall(doc):
                    out.setdefault(label.strip(), []).append(where)
    return out


# --------------------------------------------------------------------------- tests
def test_public_callables_have_numpydoc_sections():
    problems = all_problems(public_objects())
    allowed = read_exceptions()
    new = {n: p for n, p in problems.items() if n not in allowed}
    assert not new, "docstrings without numpydoc sections (complete them; do not add them to " \
                    f"{EXCEPTIONS_FILE.name}):\n" + "\n".join(f"  {n}: {', '.join(p)}" for n, p in sorted(new.items()))


def test_exceptions_list_only_shrinks():
    problems = all_problems(public_objects())
    stale = sorted(read_exceptions() - set(problems))
    assert not stale, f"remove from {EXCEPTIONS_FILE.name} (complete or gone): {stale}"


def test_cited_prf_labels_exist_in_the_book():
    labels = prf_labels()
    assert {"thm-nc-mir", "thm-lcl-oracle", "def-dd-head"} <= labels  # the parser sees the book's labels
    missing = {label: where for label, where in cited("prf:ref").items() if label not in labels}
    assert not missing, f"{{prf:ref}} labels cited in docstrings but not defined in book/*.md: {missing}"


def test_cited_ref_labels_exist():
    targets = ref_targets()
    missing = {label: where for label, where in cited("ref").items() if label not in targets}
    assert not missing, f"{{ref}} targets cited in docstrings but not defined in book/ or notebooks/: {missing}"


def test_cited_documents_exist():
    # docstrings are rendered in book/api*.md, so {doc} paths are relative to book/
    missing = {d: w for d, w in cited("doc").items()
               if not (ROOT / "book" / f"{d}.md").resolve().exists()
               and not (ROOT / "book" / f"{d}.ipynb").resolve().exists()}
    assert not missing, f"{{doc}} targets cited in docstrings that do not exist (relative to book/): {missing}"


def test_every_module_is_in_the_api_reference():
    pages = "\n".join(p.read_text() for p in (ROOT / "book").glob("api*.md"))
    roots = set(re.findall(r"\.\. mylib-api::\s*(\S+)", pages))
    covered = {m for r in roots for m in sphinx_mylib.public_modules(r)}
    missing = sorted(set(sphinx_mylib.public_modules("mylib")) - covered - {"mylib"})
    assert not missing, f"modules missing from book/api*.md (add a `.. mylib-api::` block): {missing}"
    toc = (ROOT / "_toc.yml").read_text()
    for page in (ROOT / "book").glob("api*.md"):
        assert f"file: book/{page.stem}\n" in toc, f"{page.name} is not in _toc.yml"


def test_top_level_names_are_documented_objects():
    import mylib

    documented = {id(o) for o in public_objects().values()}
    for name in mylib.__all__:
        obj = getattr(mylib, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert id(obj) in documented, f"mylib.{name} is not documented in any module's __all__"


# --------------------------------------------------------------------------- mutations: the checks can fail
MUTANT = '''
"""A module for the mutation tests."""
__all__ = ["documented", "undocumented", "no_returns", "no_parameters", "Thing", "cites_nothing"]


def documented(x):
    """Square.

    Parameters
    ----------
    x : float

    Returns
    -------
    float
    """
    return x * x


def undocumented(x):
    return x


def no_returns(x):
    """Square.

    Parameters
    ----------
    x : float
    """
    return x * x


def no_parameters(x):
    """Square.

    Returns
    -------
    float
    """
    def inner():
        return 1
    return x * x


class Thing:
    """A thing without a Parameters section."""

    def __init__(self, size):
        self.size = size


def cites_nothing():
    """Nothing to return; cites {prf:ref}`thm-does-not-exist`."""
    print("no value")
'''


@pytest.fixture
def mutant(tmp_path, monkeypatch):
    path = tmp_path / "mylib_mutant.py"
    path.write_text(MUTANT)
    spec = importlib.util.spec_from_file_location("mylib_mutant", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setitem(sys.modules, "mylib_mutant", mod)
    return mod


def test_mutation_new_undocumented_function_fails(mutant):
    objects = {f"mylib_mutant.{n}": getattr(mutant, n) for n in mutant.__all__}
    problems = all_problems(objects)
    assert problems == {
        "mylib_mutant.undocumented": ["no docstring"],
        "mylib_mutant.no_returns": ["no Returns section"],
        "mylib_mutant.no_parameters": ["no Parameters section"],
        "mylib_mutant.Thing": ["no Parameters section"],
    }
    # and the real test would report it: it is not in the exceptions list
    assert not set(problems) & read_exceptions()


def test_mutation_the_public_set_sees_a_new_function(mutant, monkeypatch):
    """A function appended to a real module's __all__ enters the checked set and fails the check."""
    import mylib.stats as target

    monkeypatch.setattr(target, "undocumented_helper", mutant.undocumented, raising=False)
    mutant.undocumented.__module__ = "mylib.stats"
    monkeypatch.setattr(target, "__all__", [*target.__all__, "undocumented_helper"])
    problems = all_problems(public_objects())
    assert problems.get("mylib.stats.undocumented_helper") == ["no docstring"]


def test_mutation_missing_label_is_detected(mutant):
    assert "thm-does-not-exist" not in prf_labels()
    pattern = re.compile(r"\{prf:ref\}`([^`]+)`")
    assert pattern.findall(mutant.cites_nothing.__doc__) == ["thm-does-not-exist"]


def test_exceptions_file_matches_the_generator(tmp_path):
    """The file is what render_exceptions writes for (a subset of) the current problems."""
    text = render_exceptions({"a.b": ["no docstring"]})
    p = tmp_path / "x.txt"
    p.write_text(text)
    assert read_exceptions(p) == {"a.b"}


if __name__ == "__main__":  # regenerate the exceptions list: python tests/test_api_docs.py
    EXCEPTIONS_FILE.write_text(render_exceptions(all_problems(public_objects())))
    print(f"wrote {EXCEPTIONS_FILE}")
