"""Run-time plumbing shared by every experiment: device, seeds, progress bars, checkpoints.

The same code runs on CUDA when it is present and on the CPU otherwise
(:func:`get_device`). Long loops go through :func:`progress`, and long trainings
save a :class:`Checkpointer` state so that a rerun resumes where it stopped and
ends with identical results (RNG states are saved with the model).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from ._checks import check_seed

__all__ = ["get_device", "seed_everything", "progress", "Checkpointer", "run_dir",
           "rng_state", "set_rng_state", "TrainingInterrupted", "cosine_lr", "code_version", "runs_root",
           "require_device_for", "is_dry_run", "dry_run_cap", "DRYRUN_ENV", "HostSyncError", "forbid_host_sync",
           "training_step"]

#: Environment variable that turns on the dry run (``make experiments PROFILE=full DRYRUN=1``): every training is
#: capped at a few steps and every evaluation at a few batches, on the full profile's configuration.
DRYRUN_ENV = "MYLIB_DRYRUN"
#: Environment variable that allows the full profile without CUDA (set by the runner's ``--force`` and dry run).
ALLOW_CPU_ENV = "MYLIB_ALLOW_CPU"
#: Environment variable overriding :func:`code_version` (the experiment runner sets it for its notebooks).
CODE_VERSION_ENV = "MYLIB_CODE_VERSION"
_DEVICE_TYPES = ("cpu", "cuda", "mps")


class TrainingInterrupted(RuntimeError):
    """Raised by a training loop asked to stop early after saving (tests simulate a kill with it).

    Parameters
    ----------
    *args
        The message, as for ``RuntimeError``.
    """


def get_device(prefer: str | None = None) -> torch.device:
    """Return ``cuda`` when available (or ``prefer`` if given), else ``cpu``.

    Parameters
    ----------
    prefer : str or torch.device, optional
        The device to use (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...); default: CUDA if present, else CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``prefer`` is not a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, a :class:`torch.device`), or
        names CUDA but no CUDA device is present.
    """
    if prefer is not None:
        if not isinstance(prefer, (str, torch.device)):
            raise ValueError(f"prefer must be a device name or torch.device, got {type(prefer).__name__}")
        try:
            dev = torch.device(prefer)
        except RuntimeError as exc:
            raise ValueError(f"prefer={prefer!r} is not a device; use one of {', '.join(_DEVICE_TYPES)} "
                             "(optionally with an index, e.g. 'cuda:0')") from exc
        if dev.type not in _DEVICE_TYPES:
            raise ValueError(f"prefer={prefer!r}: device type {dev.type!r} is not supported; "
                             f"use one of {', '.join(_DEVICE_TYPES)}")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch (CPU and CUDA); return a seeded CPU :class:`torch.Generator`.

    Deterministic algorithms are not forced (some CUDA kernels lack them); CPU runs
    with a fixed thread count are bit-for-bit repeatable.

    Parameters
    ----------
    seed : int
        In :math:`[0, 2^{32})`.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``.

    Raises
    ------
    ValueError
        If ``seed`` is not an integer in :math:`[0, 2^{32})` (numpy's legacy seeding would silently reduce a larger
        one modulo :math:`2^{32}`, so seeds :math:`2^{32}+1` and 1 would share a stream).
    """
    seed = check_seed(seed)
    if seed >= 2**32:
        raise ValueError(f"seed must be below 2**32 = {2**32}, got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def progress(iterable: Iterable | None = None, **kwargs: Any):
    """A tqdm progress bar (notebook widget or text), with ETA.

    Set the environment variable ``MYLIB_PROGRESS=0`` to silence bars (the Makefile
    does so for CI and for the built book, so pages stay free of volatile output).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (None: a manual bar updated with ``update``).
    **kwargs
        Passed to :func:`tqdm.auto.tqdm` (``desc``, ``total``, ``unit``, ...); ``disable`` is forced to True when
        ``MYLIB_PROGRESS=0``.

    Returns
    -------
    tqdm.auto.tqdm
        The bar, iterable like ``iterable``.
    """
    from tqdm.auto import tqdm

    if os.environ.get("MYLIB_PROGRESS", "1") == "0":
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


def cosine_lr(step: int, total_steps: int, lr: float, warmup_steps: int = 0, eta_min: float = 0.0) -> float:
    """Learning rate at step ``step`` (0-based) of ``total_steps``: linear warm-up, then half-cosine decay.

    During warm-up (:math:`s < W`) the rate is :math:`\\eta (s + 1)/W`; afterwards, with :math:`t = s - W` and
    :math:`T = \\max(1, S - W)`,

    .. math:: \\eta_{min} + (\\eta - \\eta_{min})\\tfrac12\\bigl(1 + \\cos(\\pi \\min(t, T) / T)\\bigr),

    so steps past the end stay at :math:`\\eta_{min}`. No validation: callers pass the sizes of their configuration.

    Parameters
    ----------
    step : int
        The step :math:`s`, 0-based.
    total_steps : int
        :math:`S`, the length of the schedule (warm-up included).
    lr : float
        Peak learning rate :math:`\\eta`.
    warmup_steps : int, default 0
        :math:`W` (0: no warm-up).
    eta_min : float, default 0.0
        Final learning rate :math:`\\eta_{min}`.

    Returns
    -------
    float
        The learning rate of step ``step``.
    """
    if warmup_steps and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    t, span = step - warmup_steps, max(1, total_steps - warmup_steps)
    return eta_min + (lr - eta_min) * 0.5 * (1.0 + math.cos(math.pi * min(t, span) / span))


def rng_state() -> dict[str, Any]:
    """Capture the Python, numpy and torch RNG states (for checkpoints).

    Returns
    -------
    dict
        ``python``, ``numpy``, ``torch`` (a CPU byte tensor) and, when CUDA is available, ``cuda`` (one state per
        device); :func:`set_rng_state` restores them.
    """
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore RNG states captured by :func:`rng_state`, wherever their tensors were loaded (the states are CPU
    byte tensors; a checkpoint loaded with ``map_location="cuda"`` must still restore them).

    Parameters
    ----------
    state : dict
        A :func:`rng_state` result; its ``cuda`` entry is restored only when CUDA is available.
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(torch.as_tensor(state["torch"], device="cpu", dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.as_tensor(t, device="cpu", dtype=torch.uint8) for t in state["cuda"]])


# --------------------------------------------------------------------------- run identity
_CODE_VERSION: str | None = None


def _git_commit(root: Path) -> str | None:
    """The commit of a clean git checkout at ``root`` (None when not a checkout or with local changes)."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                "mylib"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0 or dirty.returncode != 0 or dirty.stdout.strip():
        return None
    return commit.stdout.strip()[:12]


def library_hash() -> str:
    """A SHA-1 (12 hex digits) of the content of every ``mylib/**/*.py`` file, with their relative paths."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def code_version() -> str:
    """The version of the code a run uses, for run records and checkpoint folder names.

    ``$MYLIB_CODE_VERSION`` when set (the experiment runner sets it to a hash of ``mylib`` and the notebook);
    otherwise ``"lib-<hash>"`` of the library's sources (``library_hash()``), which changes with any edit, committed
    or not. A checkpoint folder of other code is never resumed because its name differs.

    Returns
    -------
    str
        The version string (computed once per process when taken from the sources).

    Raises
    ------
    ValueError
        If ``$MYLIB_CODE_VERSION`` holds a character other than letters, digits, ``-``, ``_`` and ``.``.
    """
    env = os.environ.get(CODE_VERSION_ENV)
    if env:
        if not all(c.isalnum() or c in "-_." for c in env):
            raise ValueError(f"${CODE_VERSION_ENV}={env!r} may hold only letters, digits, '-', '_' and '.'")
        return env
    global _CODE_VERSION
    if _CODE_VERSION is None:
        _CODE_VERSION = "lib-" + library_hash()
    return _CODE_VERSION


def runs_root() -> Path | None:
    """Where checkpoints go when the caller gives no root: ``$MYLIB_RUNS``, else on Colab with Google Drive mounted
    ``/content/drive/MyDrive/mylib-runs`` (it survives a disconnect), else None.

    Returns
    -------
    pathlib.Path or None
    """
    env = os.environ.get("MYLIB_RUNS")
    if env:
        return Path(env)
    drive = Path("/content/drive/MyDrive")
    if "google.colab" in sys.modules and drive.is_dir():
        return drive / "mylib-runs"
    return None


def require_device_for(profile: str, allow_cpu: bool = False) -> torch.device:
    """Return the device for ``profile``; refuse the full profile without CUDA (called in every notebook's set-up).

    The full profile is the papers' scale: on a CPU it would run for days without a word. It is allowed without
    CUDA when ``allow_cpu`` is true, when ``$MYLIB_ALLOW_CPU=1`` (the runner's ``--force``) or in a dry run
    (:func:`is_dry_run`).

    Parameters
    ----------
    profile : {"smoke", "full"}
        The notebook's profile.
    allow_cpu : bool, default False
        Allow the full profile on a machine without CUDA.

    Returns
    -------
    torch.device
        :func:`get_device` (CUDA when present, else CPU).

    Raises
    ------
    ValueError
        For an unknown profile.
    RuntimeError
        For ``profile="full"`` without CUDA and without an override; the message says how to proceed.
    """
    from .profiles import check_profile

    check_profile(profile)
    if (profile == "full" and not torch.cuda.is_available() and not allow_cpu
            and os.environ.get(ALLOW_CPU_ENV) != "1" and not is_dry_run()):
        raise RuntimeError(
            "profile='full' runs the papers' experiments and needs a CUDA GPU, but torch.cuda.is_available() is "
            "False. On Colab choose Runtime > Change runtime type > GPU and rerun; to run on the CPU anyway (hours "
            "to days) call mylib.runtime.require_device_for(profile, allow_cpu=True) or set MYLIB_ALLOW_CPU=1; "
            "for a quick CPU check of the full configuration set MYLIB_DRYRUN=1.")
    return get_device()


# --------------------------------------------------------------------------- dry run
def is_dry_run() -> bool:
    """True when ``$MYLIB_DRYRUN`` is set to a non-empty value other than ``0``.

    Returns
    -------
    bool
        Whether this process runs a dry run (every size capped by :func:`dry_run_cap`).
    """
    return os.environ.get(DRYRUN_ENV, "0") not in ("", "0")


def dry_run_cap(n: int, cap: int = 2) -> int:
    """``n`` normally; ``min(n, cap)`` in a dry run. Training loops cap their epochs/steps and evaluations their
    batches through this one helper, so a dry run runs every code path of the full profile in seconds.

    Parameters
    ----------
    n : int
        The size the configuration asks for (converted with ``int``).
    cap : int, default 2
        The size in a dry run (:func:`is_dry_run`).

    Returns
    -------
    int
        ``min(n, cap)`` when ``$MYLIB_DRYRUN`` is set, else ``n``.
    """
    return min(int(n), int(cap)) if is_dry_run() else int(n)


# --------------------------------------------------------------------------- host synchronisation
class HostSyncError(RuntimeError):
    """Raised by :func:`forbid_host_sync` when code converts a tensor to a Python or numpy value.

    Parameters
    ----------
    *args
        The message, as for ``RuntimeError``.
    """


_SYNC_METHODS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__", "__array__")
_STEP_GUARD = False


@contextlib.contextmanager
def forbid_host_sync(in_steps: bool = False):
    """Make every conversion of a tensor to a host value raise :class:`HostSyncError` (a test utility).

    Inside the block, ``Tensor.item``, ``tolist``, ``cpu``, ``numpy``, ``float(t)``, ``int(t)``, ``bool(t)``,
    ``t.__index__`` and ``np.asarray(t)`` raise when called from code outside torch itself (on a GPU each would wait
    for the device). With ``in_steps=True`` the check is armed only inside :func:`training_step` blocks, so a test
    can run a whole ``fit`` and fail exactly when a training step synchronises::

        with mylib.runtime.forbid_host_sync(in_steps=True):
            fit(model, train, test, config)

    Parameters
    ----------
    in_steps : bool, default False
        Arm the check only inside :func:`training_step` blocks (True) or for the whole block (False).

    Yields
    ------
    None
        A context manager; the patched ``torch.Tensor`` methods are restored on exit.

    Raises
    ------
    HostSyncError
        From the offending conversion, naming it.
    """
    global _STEP_GUARD
    if in_steps:
        previous, _STEP_GUARD = _STEP_GUARD, True
        try:
            yield
        finally:
            _STEP_GUARD = previous
        return
    originals = {name: getattr(torch.Tensor, name) for name in _SYNC_METHODS}

    def guarded(name, original):
        def method(self, *args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if caller == "torch" or caller.startswith("torch."):
                return original(self, *args, **kwargs)
            raise HostSyncError(f"Tensor.{name}() converts a tensor to a host value inside a training step "
                                f"(called from {caller or '?'}); keep the value on the device")
        return method

    for name, original in originals.items():
        setattr(torch.Tensor, name, guarded(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


def training_step():
    """Context for the body of one training step: checks for host synchronisation when a test armed
    :func:`forbid_host_sync` ``(in_steps=True)``, does nothing otherwise.

    Returns
    -------
    contextlib.AbstractContextManager
        ``forbid_host_sync()`` when armed, else ``contextlib.nullcontext()``.
    """
    return forbid_host_sync() if _STEP_GUARD else contextlib.nullcontext()


def _hashable(obj: Any) -> Any:
    """JSON fallback for :func:`config_digest`: arrays and tensors by their full content, not their repr (which
    numpy abbreviates with '...' beyond 1000 elements)."""
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        return {"array": hashlib.sha1(a.tobytes()).hexdigest(), "dtype": str(a.dtype), "shape": list(a.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(map(repr, obj))
    return repr(obj)


def config_digest(config: dict[str, Any] | None) -> str:
    """SHA-1 (8 hex digits) of a configuration, arrays hashed by their full content."""
    return hashlib.sha1(json.dumps(config or {}, sort_keys=True, default=_hashable).encode()).hexdigest()[:8]


def run_dir(experiment: str, profile: str, seed: int, config: dict[str, Any] | None = None,
            root: str | os.PathLike | None = None) -> Path | None:
    """Folder for one run's checkpoints, or None when checkpointing is off.

    Checkpoints are on for the ``full`` profile and for any profile when ``root`` or the environment variable
    ``MYLIB_RUNS`` is set (see :func:`runs_root`: on Colab with Google Drive mounted they go to Drive, which
    survives a disconnect; otherwise ``./runs``). The folder is
    ``<root>/<experiment>/<profile>-seed<seed>-<config hash>-<code version>``: a changed configuration or changed
    code (:func:`code_version`) never resumes a stale checkpoint.

    Parameters
    ----------
    experiment : str
        Relative name, ``/``-separated parts of letters, digits, ``-``, ``_``, ``.``, ``+``, ``=`` (no ``..``).
    profile : {"smoke", "full"}
    seed : int
        Non-negative.
    config : dict, optional
        Hashed by content (arrays included).
    root : path-like, optional
        Where run folders go (default: :func:`runs_root`, else ``./runs`` for the full profile).

    Returns
    -------
    pathlib.Path or None
        The folder (created), or None for a profile other than ``full`` when neither ``root`` nor a runs root is set.

    Raises
    ------
    ValueError
        For an unknown profile, a bad seed, a ``config`` that is not a dict, or an experiment name that is empty,
        absolute or leaves ``root``.
    """
    from .profiles import check_profile

    check_profile(profile)
    seed = check_seed(seed)
    if not isinstance(experiment, str) or not experiment:
        raise ValueError(f"experiment must be a non-empty string, got {experiment!r}")
    parts = experiment.split("/")
    allowed = set("-_.+=")
    if any(p in ("", ".", "..") or not all(c.isalnum() or c in allowed for c in p) for p in parts):
        raise ValueError(f"experiment={experiment!r} must be a relative name of '/'-separated parts made of "
                         "letters, digits and -_.+= (no '..', no empty part)")
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"config must be a dict or None, got {type(config).__name__}")
    if root is None:
        root = runs_root()
        if root is None:
            if profile != "full":
                return None
            root = "runs"
    path = Path(root).joinpath(*parts) / f"{profile}-seed{seed}-{config_digest(config)}-{code_version()}"
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
        from ._checks import check_positive_int

        self.directory = None if directory is None else Path(directory)
        self.every = check_positive_int(every, "every")
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path | None:
        return None if self.directory is None else self.directory / "checkpoint.pt"

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (plus the RNG states) atomically: a kill never leaves a torn file, and the temporary
        file's name is unique, so two processes never write the same one."""
        if self.path is None:
            return
        fd, tmp = tempfile.mkstemp(prefix=".checkpoint.", suffix=".tmp", dir=self.directory)
        os.close(fd)
        try:
            torch.save({**state, "_rng": rng_state()}, tmp)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def maybe_save(self, step: int, state: dict[str, Any], final: bool = False) -> None:
        """Save when ``step`` is a multiple of ``every`` or when ``final``."""
        if final or (step % self.every == 0):
            self.save(state)

    def load(self, map_location: Any = "cpu", restore_rng: bool = True) -> dict[str, Any] | None:
        """Return the saved state (restoring RNG states), or None if there is none.

        The file is read on the CPU; the RNG states are restored from there and the rest of the state is then
        moved to ``map_location`` (a device or name; a dict or callable is passed to :func:`torch.load`), so
        resuming works whatever the device, ``"meta"`` included.

        Raises
        ------
        RuntimeError
            If the checkpoint file is truncated or corrupt; the message names the file.
        """
        if self.path is None or not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
            if not isinstance(state, dict):
                raise TypeError(f"holds a {type(state).__name__}, not a dict")
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
            raise RuntimeError(f"checkpoint {self.path} is unreadable ({type(exc).__name__}: {exc}); it is "
                               "truncated or corrupt: delete it (or its folder) to train this run afresh") from exc
        rng = state.pop("_rng", None)
        if restore_rng and rng is not None:
            set_rng_state(rng)
        if map_location is None or (isinstance(map_location, (str, torch.device))
                                    and torch.device(map_location).type == "cpu"):
            return state
        if isinstance(map_location, (str, torch.device)):
            return _move(state, torch.device(map_location))
        state = torch.load(self.path, map_location=map_location, weights_only=False)
        state.pop("_rng", None)
        return state


def _move(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor inside dicts, lists and tuples moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_move(v, device) for v in obj]
    if isinstance(obj, tuple):
        return type(obj)(*(_move(v, device) for v in obj)) if hasattr(obj, "_fields") else \
            tuple(_move(v, device) for v in obj)
    return obj
