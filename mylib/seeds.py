"""One rule for every random stream of the library: :class:`numpy.random.SeedSequence` keyed by purpose.

A stream is named by a *purpose* (a short string such as ``"data-order"``, ``"augment"``, ``"probe-order"``,
``"buffer"``, ``"readout"``) and a tuple of non-negative integers (the run's seed, then task, epoch, model size, ...).
The purpose is hashed (SHA-256) to an integer and prepended to the key, so two different purposes or two
different keys give independent streams: no hand-made arithmetic such as ``seed * 1_000_003 + epoch``, whose
ranges collide.

Examples
--------
>>> from mylib import seeds
>>> g = seeds.torch_generator("data-order", 0, 3)          # run seed 0, epoch 3
>>> rng = seeds.numpy_rng("readout", 0, 40)                 # run seed 0, model size 40
"""
from __future__ import annotations

import hashlib
import numbers

import numpy as np
import torch

__all__ = ["seed_sequence", "derive_seed", "numpy_rng", "torch_generator"]


def _purpose_word(purpose: str) -> int:
    if not isinstance(purpose, str) or not purpose:
        raise ValueError(f"purpose must be a non-empty string, got {purpose!r}")
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")


def _key(keys: tuple) -> list[int]:
    out = []
    for i, k in enumerate(keys):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or int(k) < 0:
            raise ValueError(f"seed key {i} must be a non-negative integer, got {k!r}")
        out.append(int(k))
    return out


def seed_sequence(purpose: str, *keys: int) -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` of the stream ``(purpose, *keys)``.

    Parameters
    ----------
    purpose : str
        What the stream is for (non-empty); different purposes give independent streams.
    *keys : int
        Non-negative integers: the run's seed first, then task, epoch, size, ... as the caller needs.

    Returns
    -------
    numpy.random.SeedSequence
        Entropy ``[sha256(purpose) mod 2**64, *keys]``.

    Raises
    ------
    ValueError
        If ``purpose`` is empty or not a string, or a key is not a non-negative integer.
    """
    return np.random.SeedSequence([_purpose_word(purpose), *_key(keys)])


def derive_seed(purpose: str, *keys: int) -> int:
    """A 63-bit integer seed for the stream ``(purpose, *keys)`` (for APIs that take an ``int``).

    Parameters and errors as :func:`seed_sequence`.
    """
    return int(seed_sequence(purpose, *keys).generate_state(2, np.uint32).astype(np.uint64) @
               np.array([1, 2**32], dtype=np.uint64)) & (2**63 - 1)


def numpy_rng(purpose: str, *keys: int) -> np.random.Generator:
    """A :class:`numpy.random.Generator` (PCG64) for the stream ``(purpose, *keys)``; see :func:`seed_sequence`."""
    return np.random.default_rng(seed_sequence(purpose, *keys))


def torch_generator(purpose: str, *keys: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A seeded :class:`torch.Generator` on ``device`` for the stream ``(purpose, *keys)``; see :func:`seed_sequence`."""
    return torch.Generator(device=device).manual_seed(derive_seed(purpose, *keys))
