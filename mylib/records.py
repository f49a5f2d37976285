"""Key numbers of a notebook: printed for readers (and nbval) and recorded for the run records.

Kept apart from :mod:`mylib.experiments` (the runner) so that ``import mylib`` stays light and
``python -m mylib.experiments`` does not import the runner twice.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

__all__ = ["summary", "RECORD_ENV"]

#: Environment variable naming the JSON file that :func:`summary` appends to (set by the experiment runner).
RECORD_ENV = "MYLIB_RECORD"


def _clean(value: Any) -> Any:
    """JSON-safe version of a number (numpy/torch scalars, nan/inf as strings)."""
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    return value


def summary(numbers: Mapping[str, Any], title: str = "Summary") -> dict[str, Any]:
    """Print a notebook's key numbers, one ``name: value`` line each, and record them for run records.

    Round the values before passing them (they are printed as given, and nbval compares the printout).
    When the environment variable ``MYLIB_RECORD`` names a file (the experiment runner sets it), the numbers are
    also written there as JSON.

    Raises
    ------
    ValueError
        If ``numbers`` is empty or a name is not a non-empty string.
    """
    if not numbers:
        raise ValueError("summary() needs at least one number")
    for k in numbers:
        if not isinstance(k, str) or not k:
            raise ValueError(f"summary names must be non-empty strings, got {k!r}")
    print(f"== {title} ==")
    width = max(map(len, numbers))
    for k, v in numbers.items():
        print(f"{k:<{width}} : {v}")
    out = {k: _clean(v) for k, v in numbers.items()}
    target = os.environ.get(RECORD_ENV)
    if target:
        path = Path(target)
        previous = json.loads(path.read_text()) if path.exists() else {}
        previous.update(out)
        path.write_text(json.dumps(previous, indent=2, sort_keys=True))
    return out


