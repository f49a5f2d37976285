"""Input validation and numpy/torch interoperability shared by every module.

Every public function of :mod:`mylib` that takes arrays passes them through
:func:`as_tensor` so that bad input (NaN/inf, wrong number of dimensions, empty
arrays) raises a clear :class:`ValueError` instead of producing a silent wrong
number, and so that numpy and torch inputs follow the same code path.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_tensor",
    "is_torch",
    "to_output",
    "check_same_rows",
    "check_positive_int",
    "check_nonnegative",
    "check_finite_array",
    "check_unit_interval",
    "check_seed",
]


def is_torch(x: Any) -> bool:
    """Return True when ``x`` is a :class:`torch.Tensor`."""
    return isinstance(x, torch.Tensor)


def as_tensor(x: Any, name: str = "input", *, ndim: int | None = 2,
              allow_empty: bool = False, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Validate ``x`` and return it as a floating :class:`torch.Tensor`.

    numpy arrays (and lists) become float64 CPU tensors; torch tensors keep their
    device and autograd graph (integer tensors are cast to the default float type).

    Raises
    ------
    ValueError
        If ``x`` is not numeric, has the wrong number of dimensions, is empty
        (unless ``allow_empty``), or contains NaN or inf.
    """
    if isinstance(x, torch.Tensor):
        t = x
        if not torch.is_floating_point(t):
            t = t.to(torch.get_default_dtype() if dtype is None else dtype)
        elif dtype is not None:
            t = t.to(dtype)
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array or tensor, got {type(x).__name__}") from exc
        t = torch.from_numpy(arr)
        if dtype is not None:
            t = t.to(dtype)
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(t.shape)}")
    if not allow_empty and t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return t


def to_output(value: torch.Tensor, numpy_out: bool):
    """Return ``value`` as a Python float / numpy array when the caller passed numpy.

    Torch callers get the tensor back (autograd intact) so quantities can be used
    as loss terms.
    """
    if not numpy_out:
        return value
    v = value.detach().cpu()
    return float(v) if v.ndim == 0 else v.numpy()


def check_same_rows(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str] = ("Z1", "Z2")) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of rows (samples), "
                         f"got {a.shape[0]} and {b.shape[0]}")


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int, raising ValueError unless it is an integer >= ``minimum``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as float, raising ValueError if it is negative or not finite."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {value!r}") from exc
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def check_finite_array(x: Any, name: str, *, ndim: int | None = None, nonnegative: bool = False) -> np.ndarray:
    """Return ``x`` as a float64 numpy array after checking finiteness, shape and sign."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    return arr


def check_unit_interval(value: Any, name: str) -> float:
    """Return ``value`` as float, raising ValueError unless it lies in [0, 1]."""
    v = check_nonnegative(value, name)
    if v > 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return v


def check_seed(value: Any, name: str = "seed", also: str = "") -> int:
    """Return ``value`` as int, raising ValueError unless it is a non-negative integer (bools excluded).

    ``also`` names another accepted type for the message (e.g. ``"a torch.Generator"``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        extra = f" or {also}" if also else ""
        raise ValueError(f"{name} must be a non-negative integer{extra}, got {value!r}")
    return int(value)
