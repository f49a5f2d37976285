"""Run-time plumbing shared by every experiment: device, seeds, progress bars, checkpoints.

The same code runs on CUDA when it is present and on the CPU otherwise
(:func:`get_device`). Long loops go through :func:`progress`, and long trainings
save a :class:`Checkpointer` state so that a rerun resumes where it stopped and
ends with identical results (RNG states are saved with the model).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from ._checks import check_seed

__all__ = ["get_device", "seed_everything", "progress", "Checkpointer", "run_dir",
           "rng_state", "set_rng_state", "TrainingInterrupted", "cosine_lr"]


class TrainingInterrupted(RuntimeError):
    """Raised by a training loop asked to stop early after saving (tests simulate a kill with it)."""


def get_device(prefer: str | None = None) -> torch.device:
    """Return ``cuda`` when available (or ``prefer`` if given), else ``cpu``.

    Raises
    ------
    ValueError
        If ``prefer`` names CUDA but no CUDA device is present.
    """
    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch (CPU and CUDA); return a seeded CPU :class:`torch.Generator`.

    Deterministic algorithms are not forced (some CUDA kernels lack them); CPU runs
    with a fixed thread count are bit-for-bit repeatable.
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def progress(iterable: Iterable | None = None, **kwargs: Any):
    """A tqdm progress bar (notebook widget or text), with ETA.

    Set the environment variable ``MYLIB_PROGRESS=0`` to silence bars (the Makefile
    does so for CI and for the built book, so pages stay free of volatile output).
    """
    from tqdm.auto import tqdm

    if os.environ.get("MYLIB_PROGRESS", "1") == "0":
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


def cosine_lr(step: int, total_steps: int, lr: float, warmup_steps: int = 0, eta_min: float = 0.0) -> float:
    """Learning rate at step ``step`` (0-based) of ``total_steps``: linear warm-up over ``warmup_steps``, then
    half-cosine decay :math:`\\eta_{min} + (\\eta - \\eta_{min})\\tfrac12(1 + \\cos(\\pi t / T))`."""
    if warmup_steps and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    t, span = step - warmup_steps, max(1, total_steps - warmup_steps)
    return eta_min + (lr - eta_min) * 0.5 * (1.0 + math.cos(math.pi * min(t, span) / span))


def rng_state() -> dict[str, Any]:
    """Capture the Python, numpy and torch RNG states (for checkpoints)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore RNG states captured by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def run_dir(experiment: str, profile: str, seed: int, config: dict[str, Any] | None = None,
            root: str | os.PathLike | None = None) -> Path | None:
    """Folder for one run's checkpoints, or None when checkpointing is off.

    Checkpoints are on for the ``full`` profile (under ``./runs``) and for any
    profile when ``root`` or the environment variable ``MYLIB_RUNS`` is set. The
    folder name includes a hash of ``config`` so a changed configuration never
    resumes from a stale checkpoint.
    """
    root = root if root is not None else os.environ.get("MYLIB_RUNS")
    if root is None:
        if profile != "full":
            return None
        root = "runs"
    digest = hashlib.sha1(json.dumps(config or {}, sort_keys=True, default=str).encode()).hexdigest()[:8]
    path = Path(root) / experiment / f"{profile}-seed{seed}-{digest}"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Checkpointer:
    """Save and restore training state atomically.

    Parameters
    ----------
    directory : path or None
        Where ``checkpoint.pt`` lives. ``None`` disables checkpointing: :meth:`save`
        does nothing and :meth:`load` returns None.
    every : int
        :meth:`maybe_save` writes only every ``every`` calls (e.g. epochs).

    Examples
    --------
    >>> ck = Checkpointer(None)
    >>> ck.load() is None
    True
    """

    def __init__(self, directory: str | os.PathLike | None, every: int = 1):
        self.directory = None if directory is None else Path(directory)
        self.every = max(1, int(every))
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path | None:
        return None if self.directory is None else self.directory / "checkpoint.pt"

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (plus the RNG states) atomically: a kill never leaves a torn file."""
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        torch.save({**state, "_rng": rng_state()}, tmp)
        os.replace(tmp, self.path)

    def maybe_save(self, step: int, state: dict[str, Any], final: bool = False) -> None:
        """Save when ``step`` is a multiple of ``every`` or when ``final``."""
        if final or (step % self.every == 0):
            self.save(state)

    def load(self, map_location: Any = "cpu", restore_rng: bool = True) -> dict[str, Any] | None:
        """Return the saved state (restoring RNG states), or None if there is none."""
        if self.path is None or not self.path.exists():
            return None
        state = torch.load(self.path, map_location=map_location, weights_only=False)
        rng = state.pop("_rng", None)
        if restore_rng and rng is not None:
            set_rng_state(rng)
        return state
