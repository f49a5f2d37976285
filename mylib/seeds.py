"""One rule for every random stream of the library: :class:`numpy.random.SeedSequence` keyed by purpose.

A stream is named by a *purpose* (a short string such as ``"data-order"``, ``"augment"``, ``"probe-order"``,
``"buffer"``, ``"readout"``) and a tuple of non-negative integers (the run's seed, then task, epoch, model size, ...).
The purpose is hashed (SHA-256) to two 32-bit words that precede the keys in the entropy of a
:class:`~numpy.random.SeedSequence`, so two different purposes or two different keys give independent streams: no
hand-made arithmetic such as ``seed * 1_000_003 + epoch``, whose ranges collide (the continual trainer's epoch
``98 + e`` of task 0 once drew the same generator as the linear probe's epoch ``e``).

Two properties of :class:`~numpy.random.SeedSequence` are guarded against: it pads short entropy with zeros, so
``(purpose, a)`` and ``(purpose, a, 0)`` would coincide (hence a purpose keeps one number of keys; a second layout
raises :class:`ValueError`), and it splits an integer of :math:`2^{32}` or more into two words, so every key must be
below :data:`KEY_LIMIT`. ``tests/test_seeds.py`` checks that the 63-bit seeds of all streams over the full
profile's ranges are distinct.

Examples
--------
>>> from mylib import seeds
>>> g = seeds.torch_generator("doc-example-order", 0, 3)   # run seed 0, epoch 3
>>> rng = seeds.numpy_rng("doc-example-readout", 0, 40)    # run seed 0, model size 40
"""
from __future__ import annotations

import functools
import hashlib
import numbers

import numpy as np
import torch

__all__ = ["seed_sequence", "derive_seed", "numpy_rng", "torch_generator", "KEY_LIMIT"]


#: Every key is below this bound (one 32-bit word), since :class:`~numpy.random.SeedSequence` would split a larger
#: key into two words, which could then equal two smaller keys (``(2**32,)`` and ``(0, 1)``).
KEY_LIMIT = 2**32

# Number of keys each purpose was first used with in this process. SeedSequence pads short entropy with zeros, so
# ``(purpose, a)`` and ``(purpose, a, 0)`` would be the same stream: one purpose keeps one key layout.
_ARITY: dict[str, int] = {}


def _purpose_words(purpose: str) -> list[int]:
    if not isinstance(purpose, str) or not purpose:
        raise ValueError(f"purpose must be a non-empty string, got {purpose!r}")
    return list(_hash_words(purpose))


@functools.lru_cache(maxsize=None)
def _hash_words(purpose: str) -> tuple[int, int]:
    word = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")
    # Two explicit 32-bit words (what SeedSequence makes of the 64-bit integer whenever its upper half is non-zero).
    return word & 0xFFFFFFFF, word >> 32


def _key(keys: tuple) -> list[int]:
    out = []
    for i, k in enumerate(keys):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= int(k) < KEY_LIMIT:
            raise ValueError(f"seed key {i} (keys) must be an integer in [0, 2**32), got {k!r}")
        out.append(int(k))
    return out


def _check_arity(purpose: str, n: int) -> None:
    first = _ARITY.setdefault(purpose, n)
    if first != n:
        raise ValueError(f"purpose {purpose!r} was used with {first} key(s) and now with {n}: a purpose keeps one "
                         "key layout (SeedSequence pads short keys with zeros, so (a,) and (a, 0) would coincide); "
                         "use another purpose name")


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
        Entropy ``[lo, hi, *keys]`` where ``lo + 2**32 * hi`` is the first 8 bytes of SHA-256 of ``purpose``.

    Raises
    ------
    ValueError
        If ``purpose`` is empty or not a string, if a key is not an integer in :math:`[0, 2^{32})`, or if
        ``purpose`` was already used with a different number of keys in this process.
    """
    words = _purpose_words(purpose)
    key = _key(keys)
    _check_arity(purpose, len(key))
    return np.random.SeedSequence([*words, *key])


def derive_seed(purpose: str, *keys: int) -> int:
    """A 63-bit integer seed for the stream ``(purpose, *keys)`` (for APIs that take an ``int``).

    The first two 32-bit words :math:`s_0, s_1` of the stream's state give :math:`(s_0 + 2^{32} s_1) \\bmod 2^{63}`.

    Parameters
    ----------
    purpose : str
        What the stream is for; see :func:`seed_sequence`.
    *keys : int
        The stream's keys, integers in :math:`[0, 2^{32})`.

    Returns
    -------
    int
        A seed in :math:`[0, 2^{63})` (valid for :meth:`torch.Generator.manual_seed`).

    Raises
    ------
    ValueError
        As :func:`seed_sequence`.
    """
    # generate_state(1, uint64) is s_0 + 2**32 s_1 of generate_state(2, uint32).
    return int(seed_sequence(purpose, *keys).generate_state(1, np.uint64)[0]) & (2**63 - 1)


def numpy_rng(purpose: str, *keys: int) -> np.random.Generator:
    """A :class:`numpy.random.Generator` (PCG64) for the stream ``(purpose, *keys)``.

    Parameters
    ----------
    purpose : str
        What the stream is for; see :func:`seed_sequence`.
    *keys : int
        The stream's keys, integers in :math:`[0, 2^{32})`.

    Returns
    -------
    numpy.random.Generator
        Seeded with :func:`seed_sequence` ``(purpose, *keys)``.

    Raises
    ------
    ValueError
        As :func:`seed_sequence`.
    """
    return np.random.default_rng(seed_sequence(purpose, *keys))


def torch_generator(purpose: str, *keys: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A seeded :class:`torch.Generator` on ``device`` for the stream ``(purpose, *keys)``.

    Parameters
    ----------
    purpose : str
        What the stream is for; see :func:`seed_sequence`.
    *keys : int
        The stream's keys, integers in :math:`[0, 2^{32})`.
    device : str or torch.device
        Where the generator lives (``"cpu"`` or a CUDA device).

    Returns
    -------
    torch.Generator
        Seeded with :func:`derive_seed` ``(purpose, *keys)``.

    Raises
    ------
    ValueError
        As :func:`seed_sequence`.
    """
    return torch.Generator(device=device).manual_seed(derive_seed(purpose, *keys))
