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


def check_not_complex(x: Any, name: str) -> None:
    """Raise TypeError naming ``name`` if ``x`` is complex (a Python/numpy complex scalar, array or tensor).

    numpy and torch would otherwise drop the imaginary part with only a warning.
    """
    if isinstance(x, (complex, np.complexfloating)) or (isinstance(x, torch.Tensor) and x.is_complex()):
        raise TypeError(f"{name} must be real, got a complex value")
    if not isinstance(x, torch.Tensor) and np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got complex values")


def check_positive_real(value: Any, name: str) -> float:
    """Return ``value`` as float, requiring a finite real number ``> 0``.

    Raises
    ------
    TypeError
        For a bool, a string, a complex number or any non-real type (``True`` is not ``1.0`` here, ``"2"`` is not 2).
    ValueError
        For NaN, inf or a value ``<= 0`` (the message says "> 0").
    """
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (numbers.Real, np.ndarray,
                                                                                   torch.Tensor)):
        raise TypeError(f"{name} must be a real number > 0, got {type(value).__name__} {value!r}")
    check_not_complex(value, name)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        if value.ndim != 0 or value.dtype in (np.bool_, torch.bool):
            raise TypeError(f"{name} must be a real scalar > 0, got {type(value).__name__} of shape "
                            f"{tuple(value.shape)}")
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def check_labels(labels: Any, n: int | None = None, name: str = "labels",
                 device: torch.device | None = None) -> torch.Tensor:
    """Validate integer class labels and return them as a 1-D int64 tensor (on ``device`` if given).

    Accepts integer numpy arrays, lists and tensors, and floating ones whose values are integers. Shared by the
    parts that take class labels (Part I's collapse measures, Part II's losses and buffer).

    Raises
    ------
    TypeError
        For complex or boolean labels.
    ValueError
        For a shape other than 1-D, non-integer or non-finite values, negative labels, or (when ``n`` is given) a
        length other than ``n``.
    """
    check_not_complex(labels, name)
    if isinstance(labels, torch.Tensor):
        lab = labels.detach()
        if lab.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class labels, got booleans")
        if lab.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(lab.shape)}")
        if torch.is_floating_point(lab):
            if not bool(torch.isfinite(lab).all()) or not bool((lab == lab.round()).all()):
                raise ValueError(f"{name} must hold integer class labels")
        lab = lab.long()
    else:
        arr = np.asarray(labels)
        if arr.dtype == np.bool_:
            raise TypeError(f"{name} must hold integer class labels, got booleans")
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError(f"{name} must hold integer class labels")
        elif arr.dtype.kind not in "iu" and arr.size:
            raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
        lab = torch.from_numpy(arr.astype(np.int64))
    if n is not None and lab.shape[0] != n:
        raise ValueError(f"{name} has {lab.shape[0]} entries but there are {n} samples")
    if lab.numel() and int(lab.min()) < 0:
        raise ValueError(f"{name} must be >= 0")
    return lab.to(device) if device is not None else lab
