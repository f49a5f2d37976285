"""Rewrite the repository URL everywhere it must appear, from the one place that defines it.

Usage: python tools/set_repo_url.py https://github.com/OWNER/REPO

Updates `_config.yml` (repository.url, the source of truth), pyproject.toml and every notebook's Colab cell
(both the .md source and the paired .ipynb). tests/test_repository.py checks they agree.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def current_url() -> str:
    m = re.search(r"^\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text(), flags=re.M)
    if not m:
        sys.exit("_config.yml has no repository.url")
    return m.group(1)


def main(new: str) -> None:
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", new):
        sys.exit(f"not a GitHub repository URL: {new}")
    old = current_url()
    files = [ROOT / "_config.yml", ROOT / "pyproject.toml", *sorted((ROOT / "notebooks").glob("*.md")),
             *sorted((ROOT / "notebooks").glob("*.ipynb"))]
    for f in files:
        text = f.read_text()
        if old in text:
            f.write_text(text.replace(old, new))
            print(f"updated {f.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
