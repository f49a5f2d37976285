"""Rewrite the repository URL and the release the Colab cells install, everywhere, from the one place that defines them.

Usage: python tools/set_repo_url.py https://github.com/OWNER/REPO [REF]

REF is the tag or commit the notebooks' Colab cells install (`pip install "mylib[full] @ git+URL@REF"`), so a reader's
notebook and the library it installs agree; tag the release (`git tag REF && git push --tags`) before publishing.
Updates `_config.yml` (repository.url and repository.release, the source of truth), pyproject.toml and every
notebook's Colab cell (both the .md source and the paired .ipynb). tests/test_repository.py checks they agree.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _config_value(key: str) -> str:
    m = re.search(rf"^\s*{key}:\s*(\S+)", (ROOT / "_config.yml").read_text(), flags=re.M)
    if not m:
        sys.exit(f"_config.yml has no repository.{key}")
    return m.group(1)


def current_url() -> str:
    return _config_value("url")


def current_ref() -> str:
    return _config_value("release")


def colab_line(url: str, ref: str) -> str:
    """The line of every Colab cell that names the repository and release (tests/test_repository.py checks it)."""
    return f'    REPO_URL, REPO_REF = "{url}", "{ref}"  # the book\'s release (make repo-url)'


def main(new: str, ref: str | None = None) -> None:
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", new):
        sys.exit(f"not a GitHub repository URL: {new}")
    if ref is not None and not re.fullmatch(r"[\w][\w.\-/]*", ref):
        sys.exit(f"not a git tag or commit: {ref}")
    old, old_ref = current_url(), current_ref()
    ref = ref or old_ref
    replacements = [(colab_line(old, old_ref), colab_line(new, ref)), (f"release: {old_ref}", f"release: {ref}"),
                    (old, new)]
    files = [ROOT / "_config.yml", ROOT / "pyproject.toml", *sorted((ROOT / "notebooks").glob("*.md")),
             *sorted((ROOT / "notebooks").glob("*.ipynb")), ROOT / "tools" / "notebook_template.md"]
    for f in files:
        text = f.read_text()
        before = text
        for a, b in replacements:
            if f.suffix == ".ipynb":
                a, b = json.dumps(a)[1:-1], json.dumps(b)[1:-1]
            text = text.replace(a, b)
        if text != before:
            f.write_text(text)
            print(f"updated {f.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(*sys.argv[1:])
