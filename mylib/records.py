"""Key numbers of a notebook: printed for readers (and nbval) and recorded for the run records.

Kept apart from :mod:`mylib.experiments` (the runner) so that ``import mylib`` stays light and
``python -m mylib.experiments`` does not import the runner twice.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

__all__ = ["summary", "RECORD_ENV", "write_json_atomic", "read_json", "compare_key_numbers",
           "refresh_key_numbers", "KEY_NUMBER_FIELDS"]

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
    also written there as JSON (merged into what the file already holds).

    Parameters
    ----------
    numbers : mapping
        Name -> value (numbers, strings, booleans, or lists and mappings of them).
    title : str, default "Summary"
        Printed as ``== title ==`` above the lines.

    Returns
    -------
    dict
        The numbers as recorded: numpy/torch scalars as Python numbers, NaN and infinities as strings.

    Raises
    ------
    TypeError
        If ``numbers`` is not a mapping.
    ValueError
        If ``numbers`` is empty or a name is not a non-empty string.
    """
    if not isinstance(numbers, Mapping):
        raise TypeError(f"numbers must be a mapping name -> value, got {type(numbers).__name__}")
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
        previous = read_json(path) if path.exists() else {}
        previous.update(out)
        write_json_atomic(path, previous)
    return out


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically: a temporary file with a unique name in the same folder, then
    :func:`os.replace`, so a kill never leaves a torn file and two writers never share a temporary name.

    Parameters
    ----------
    path : str or path-like
        The target file (its folder is created).
    obj : object
        Any JSON-serialisable value; written with ``indent=2`` and sorted keys.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a truncated or corrupt file raises ValueError naming the file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    object
        The decoded JSON value.

    Raises
    ------
    ValueError
        If ``path`` does not hold valid JSON (the message names the file and says what to do).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); the file is corrupt or truncated - delete it "
                         "(a run record is rewritten by running that notebook again)") from exc


# --------------------------------------------------------------------------- key numbers (regression test)
#: Fields of one entry of ``tests/key_numbers/<notebook>.json``.
KEY_NUMBER_FIELDS = ("value", "atol", "rtol", "why")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def compare_key_numbers(expected: Mapping[str, Mapping[str, Any]], actual: Mapping[str, Any]) -> list[str]:
    """Compare a notebook's recorded key numbers with the committed reference values.

    ``expected`` maps each key to ``{"value", "atol", "rtol", "why"}``. A number passes when
    :math:`|a - v| \\le \\mathrm{atol} + \\mathrm{rtol}\\,|v|`; a string or bool must be equal. A key
    whose ``why`` is ``"TODO"`` (a tolerance nobody has justified yet), a key missing from ``actual`` and a key of
    ``actual`` missing from ``expected`` are failures too.

    Parameters
    ----------
    expected : mapping
        Key -> ``{"value", "atol", "rtol", "why"}`` (a ``tests/key_numbers/<notebook>.json`` file).
    actual : mapping
        Key -> value, as the notebook's :func:`summary` recorded it.

    Returns
    -------
    list of str
        One message per failing key (empty when everything agrees).

    Raises
    ------
    ValueError
        If an entry of ``expected`` lacks a field or has a negative or non-finite tolerance.
    """
    failures = []
    for key, entry in expected.items():
        if not isinstance(entry, Mapping) or set(entry) != set(KEY_NUMBER_FIELDS):
            raise ValueError(f"key {key!r}: entry must have exactly the fields {KEY_NUMBER_FIELDS}, got {entry!r}")
        for tol in ("atol", "rtol"):
            t = entry[tol]
            if not _is_number(t) or not math.isfinite(t) or t < 0:
                raise ValueError(f"key {key!r}: {tol} must be a finite number >= 0, got {t!r}")
        if not isinstance(entry["why"], str) or entry["why"].strip() in ("", "TODO"):
            failures.append(f"{key!r}: tolerance not justified yet (why = {entry['why']!r}); state the seed "
                            "spread / kernel noise you measured")
        if key not in actual:
            failures.append(f"{key!r}: not recorded by the notebook any more")
            continue
        v, a = entry["value"], actual[key]
        if _is_number(v) and _is_number(a):
            bound = entry["atol"] + entry["rtol"] * abs(v)
            if not abs(a - v) <= bound:
                failures.append(f"{key!r}: got {a!r}, reference {v!r}, |diff| = {abs(a - v):.3g} > "
                                f"atol + rtol*|value| = {bound:.3g} ({entry['why']})")
        elif a != v or type(a) is not type(v):
            failures.append(f"{key!r}: got {a!r}, reference {v!r}")
    for key in actual:
        if key not in expected:
            failures.append(f"{key!r}: recorded but has no reference value (run `make references`)")
    return failures


def refresh_key_numbers(path: str | os.PathLike, actual: Mapping[str, Any]) -> list[str]:
    """Rewrite the reference file ``path`` with the values of ``actual``, keeping each key's atol, rtol and why.

    A new key gets ``atol = rtol = 0`` and ``why = "TODO"`` (which :func:`compare_key_numbers` rejects until someone
    states a tolerance); keys the notebook no longer records are dropped.

    Parameters
    ----------
    path : str or path-like
        The reference file (created if missing; written with :func:`write_json_atomic`).
    actual : mapping
        Key -> value, as the notebook's :func:`summary` recorded it.

    Returns
    -------
    list of str
        The keys that are new (``why = "TODO"``).

    Raises
    ------
    ValueError
        If the existing file is not valid JSON (:func:`read_json`).
    """
    path = Path(path)
    old = read_json(path) if path.exists() else {}
    new, added = {}, []
    for key, value in actual.items():
        entry = old.get(key)
        if entry is None:
            entry, _ = {"atol": 0.0, "rtol": 0.0, "why": "TODO"}, added.append(key)
        new[key] = {"value": value, "atol": entry["atol"], "rtol": entry["rtol"], "why": entry["why"]}
    write_json_atomic(path, new)
    return added


