r"""Part II training machinery: the continual contrastive trainer (Co2L / CILA), its data and its profiles.

The losses and the bound are in :mod:`mylib.contrastive.losses`, Co2L's exact objective in
:mod:`mylib.contrastive.co2l`, the encoders and the linear probe in :mod:`mylib.nn`. This module runs the
experiments of {doc}`../book/part2_contrastive_cl`:

* :func:`run_continual` trains a :class:`mylib.nn.ContrastiveNet` on a sequence of tasks with a class-balanced
  replay buffer, two augmented views per sample and Co2L's objective :func:`mylib.contrastive.co2l_loss` with
  distillation weight ``lambda_t`` (teacher: a copy of the model at the start of the task, kept in train mode as
  in Co2L's code unless ``teacher_bn="eval"``). It logs the per-task average losses that CILA needs
  ({prf:ref}`def-ccl-cila`), the probe-set representations after every task that {prf:ref}`thm-ccl-bound` needs,
  the task's own loss :math:`\Phi_t^t` when it ends (with the negatives it trained with), the descent check of
  {prf:ref}`prop-ccl-descent` and, optionally, a linear probe after every task (the accuracy matrix). It
  checkpoints every ``ckpt_every`` epochs and resumes exactly, and runs that share a prefix of tasks (same
  configuration and the same ``lambda_1..lambda_t``) share it through a :class:`TaskCache`;
* :func:`evaluate_run`, :func:`run_grid`: the final probe and both sides of the bound; a grid of variants and seeds;
* :func:`forgetting`, :func:`backward_transfer`: summaries of the accuracy matrix.

Every random stream comes from :func:`mylib.seeds.torch_generator` keyed by purpose, seed, task and epoch, so a run
that is killed and resumed ends with the same numbers (bit-identical on a CPU with a fixed thread count) and no two
streams coincide.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..seeds import numpy_rng, torch_generator
from .._checks import check_finite_array, check_nonnegative, check_positive_int
from ..data import TensorData, load_cifar_tensors, load_digits_split
from ..nn.augment import _CHECKED, CIFAR10_MEAN, CIFAR10_STD_CO2L, Augment
from ..nn.models import ContrastiveNet
from ..nn.probe import embed, linear_probe
from ..profiles import register
from ..runtime import Checkpointer, TrainingInterrupted, cosine_lr, dry_run_cap, get_device, progress
from .co2l import co2l_terms
from .losses import (ClassBalancedBuffer, _supcon_core, _ird_core, bound_terms, cila_lambdas, continual_bound,
                     descent_check)

__all__ = [
    "ContinualConfig", "ContinualResult", "TaskCache", "run_continual", "evaluate_run", "run_grid",
    "probe_indices", "digits_tasks", "digits_rgb_standin", "cifar10_tensors", "digits_augment", "image_augment",
    "train_step", "accuracy_matrix", "forgetting", "backward_transfer", "TrainingInterrupted", "METHODS",
    "TEACHER_BN", "INCREMENTAL",
]

METHODS = ("replay", "co2l", "cila")
INCREMENTAL = ("class", "domain")
TEACHER_BN = ("train", "eval")


# --------------------------------------------------------------------------- data
def digits_tasks(split_seed: int = 0) -> tuple[TensorData, TensorData]:
    """scikit-learn digits as standardised 1x8x8 images (train 1347, test 450), split with ``split_seed``.

    Parameters
    ----------
    split_seed : int, default 0
        Seed of the stratified split (:func:`mylib.data.load_digits_split`).

    Returns
    -------
    train, test : TensorData
        float32 images ``(n, 1, 8, 8)`` and int64 labels.

    Raises
    ------
    ValueError
        If ``split_seed`` is not an integer in :math:`[0, 2^{32})`.
    """
    return load_digits_split(seed=split_seed, image=True)


def digits_rgb_standin(image_size: int = 16, split_seed: int = 0, colour_seed: int = 0
                       ) -> tuple[TensorData, TensorData]:
    """A tiny offline stand-in for CIFAR-10: the digits (pixels scaled to [0, 1]), upsampled
    (bilinear) to ``image_size`` and coloured with a random RGB colour per image, stored as uint8
    ``(n, 3, image_size, image_size)`` like CIFAR. For pipeline checks only.

    Parameters
    ----------
    image_size : int, default 16
        Side of the images, at least 8.
    split_seed : int, default 0
        ``random_state`` of the stratified 75/25 split (that of :func:`mylib.data.load_digits_split`).
    colour_seed : int, default 0
        Seed of the colours (a factor in [0.25, 1) per image and channel).

    Returns
    -------
    train, test : TensorData
        uint8 images and int64 labels (1347 and 450 images).

    Raises
    ------
    ValueError
        If ``image_size`` is not an integer of at least 8.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    size = check_positive_int(image_size, "image_size", minimum=8)
    X, y = load_digits(return_X_y=True)
    # the split of mylib.data.load_digits_split, on the raw pixels (0..16) instead of standardised ones
    parts = train_test_split(X / 16.0, y, test_size=0.25, random_state=int(split_seed), stratify=y)
    out = []
    g = torch.Generator().manual_seed(int(colour_seed))
    for xs, ys in ((parts[0], parts[2]), (parts[1], parts[3])):
        x = torch.from_numpy(np.ascontiguousarray(xs, dtype=np.float32)).view(-1, 1, 8, 8)
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
        colour = 0.25 + 0.75 * torch.rand(x.shape[0], 3, 1, 1, generator=g)
        x = (x * colour * 255).round().to(torch.uint8)
        out.append(TensorData(x, torch.from_numpy(ys).long()))
    return out[0], out[1]


def cifar10_tensors(root: str = "data", download: bool = True) -> tuple[TensorData, TensorData]:
    """CIFAR-10 train/test as uint8 tensors ``(n, 3, 32, 32)`` (:func:`mylib.data.load_cifar_tensors`).

    Parameters
    ----------
    root : str, default "data"
        Data folder (``$MYLIB_DATA`` replaces it when set).
    download : bool, default True
        Download missing files through torchvision.

    Returns
    -------
    train, test : TensorData

    Raises
    ------
    ValueError
        For a corrupt batch file (named), as :func:`mylib.data.load_cifar_tensors`.
    FileNotFoundError
        When the files are missing and ``download`` is false.
    ImportError
        When a download needs torchvision and it is not installed.
    """
    return load_cifar_tensors("cifar10", root=root, download=download)


def digits_augment(noise_std: float = 0.3, crop_padding: int = 1) -> Augment:
    """Views of a standardised digit: a random shift (crop of the 1-pixel zero-padded image) plus Gaussian noise.

    The views of {prf:ref}`def-ccl-co2l` for the digits experiments.

    Parameters
    ----------
    noise_std : float, default 0.3
        Standard deviation of :func:`mylib.nn.augment.gaussian_noise`.
    crop_padding : int, default 1
        Padding of :func:`mylib.nn.augment.random_crop` (the largest shift, in pixels).

    Returns
    -------
    Augment
        ``Augment(crop_padding=crop_padding, noise_std=noise_std)``; its operations validate the values when called.
    """
    return Augment(crop_padding=crop_padding, noise_std=noise_std)


def image_augment(mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD_CO2L,
                  min_crop: float = 0.2) -> Augment:
    """Co2L's image views: random resized crop (area ``min_crop``-1; Co2L: 0.2 on CIFAR-10, 0.1 on
    Tiny-ImageNet), flip, colour jitter (0.4, 0.4, 0.4, 0.1) with probability 0.8, grayscale with probability 0.2,
    then normalisation.

    Parameters
    ----------
    mean, std : sequences of 3 floats
        Normalisation (default: Co2L's CIFAR-10 constants, :data:`mylib.nn.CIFAR10_STD_CO2L`).
    min_crop : float
        Smallest area fraction of the crop, in (0, 1].

    Returns
    -------
    Augment

    Raises
    ------
    ValueError
        If ``min_crop`` is not in (0, 1].
    """
    if not 0 < float(min_crop) <= 1:
        raise ValueError(f"min_crop must lie in (0, 1], got {min_crop!r}")
    return Augment(resized_crop=(float(min_crop), 1.0), hflip=0.5, jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.8,
                   grayscale=0.2, mean=tuple(mean), std=tuple(std))


def probe_indices(labels: Any, per_class: int, seed: int = 0) -> np.ndarray:
    """A fixed, class-balanced subset (``per_class`` samples of every class) of a dataset's indices:
    the probe set on which the losses of {prf:ref}`thm-ccl-bound` are evaluated.

    Parameters
    ----------
    labels : array_like or torch.Tensor
        One label per sample.
    per_class : int
        Samples drawn (without replacement) from every class, at least 2.
    seed : int, default 0
        Non-negative; the draw uses the stream ``("probe-set", seed)`` (:func:`mylib.seeds.numpy_rng`).

    Returns
    -------
    numpy.ndarray
        ``per_class`` indices per class, by class, sorted within each class.

    Raises
    ------
    ValueError
        If ``per_class < 2``, ``seed`` is negative, or a class has fewer than ``per_class`` samples.
    """
    lab = np.asarray(labels.cpu() if torch.is_tensor(labels) else labels)
    k = check_positive_int(per_class, "per_class", minimum=2)
    rng = numpy_rng("probe-set", check_positive_int(seed, "seed", minimum=0))
    out = []
    for c in np.unique(lab):
        idx = np.flatnonzero(lab == c)
        if idx.size < k:
            raise ValueError(f"class {c} has {idx.size} samples, fewer than per_class={k}")
        out.append(np.sort(rng.choice(idx, size=k, replace=False)))
    return np.concatenate(out)


# --------------------------------------------------------------------------- trainer
@dataclass
class ContinualConfig:
    """Hyper-parameters of :func:`run_continual`.

    Attributes
    ----------
    tasks : list of lists of int
        The classes of each task, in order (domain-incremental: the classes of each domain, which may repeat).
    incremental : {"class", "domain"}
        ``"class"``: task ``t`` holds the samples of its classes; ``"domain"``: the samples of domain ``t`` (given to
        :func:`run_continual` as ``domains``), e.g. one rotation of R-MNIST.
    method : {"replay", "co2l", "cila"}
        ``replay``: no distillation (``lambda_t = 0``, buffer kept; with ``buffer_size=0`` plain fine-tuning);
        ``co2l``: ``lambda_t = lam`` for ``t >= 2``; ``cila``: :func:`mylib.contrastive.cila_lambdas` with
        ``cila_kappa`` on the running averages of Co2L's two loss terms (so ``cila_kappa`` is on the paper's scale).
    lam, cila_kappa : float
    buffer_size : int
    epochs, first_epochs : int
        Epochs per task; the first task's (Co2L trains it longer).
    batch_size, lr, momentum, weight_decay, warmup_epochs :
        SGD with a per-task linear warm-up then cosine decay to ``lr / 1000`` (as Co2L).
    tau, kappa_student, kappa_teacher : float
        Temperatures of the contrastive loss and of the student/teacher relation distributions.
    base_tau : float
        Co2L's base temperature: the contrastive term is scaled by ``tau / base_tau`` (:func:`co2l_loss`).
    teacher_bn : {"train", "eval"}
        BatchNorm mode of the teacher: ``"train"`` (Co2L's code: a deep copy never switched to eval, normalising
        with the current batch's statistics) or ``"eval"`` (running statistics).
    probe_per_class : int
        Size per class of the fixed probe set on which the bound's losses are evaluated.
    pool_eval_size : int
        Samples of each task's training pool used for the descent check and :math:`\\Phi_t^t`.
    seed : int
    amp : bool
        bf16 autocast on CUDA (the losses are computed in float32).
    ckpt_every : int
        Save a checkpoint every so many epochs (when a directory is given).
    """

    tasks: list[list[int]]
    incremental: str = "class"
    method: str = "co2l"
    lam: float = 1.0
    cila_kappa: float = 1.0
    buffer_size: int = 50
    epochs: int = 10
    first_epochs: int | None = None
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: int = 0
    tau: float = 0.5
    kappa_student: float = 0.2
    kappa_teacher: float = 0.01
    base_tau: float = 0.07
    teacher_bn: str = "train"
    probe_per_class: int = 20
    pool_eval_size: int = 512
    seed: int = 0
    amp: bool = False
    ckpt_every: int = 1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid: {METHODS}")
        if self.teacher_bn not in TEACHER_BN:
            raise ValueError(f"unknown teacher_bn {self.teacher_bn!r}; valid: {TEACHER_BN}")
        if not self.tasks or any(len(t) == 0 for t in self.tasks):
            raise ValueError("tasks must be a non-empty list of non-empty class lists")
        if self.incremental not in INCREMENTAL:
            raise ValueError(f"unknown incremental {self.incremental!r}; valid: {INCREMENTAL}")
        flat = [c for t in self.tasks for c in t]
        if self.incremental == "class" and len(set(flat)) != len(flat):
            raise ValueError("a class appears in more than one task")
        self.tasks = [[int(c) for c in t] for t in self.tasks]
        self.lam = check_nonnegative(self.lam, "lam")
        self.cila_kappa = check_nonnegative(self.cila_kappa, "cila_kappa")
        if self.method == "cila" and self.cila_kappa == 0:
            raise ValueError("cila_kappa must be > 0")
        self.buffer_size = check_positive_int(self.buffer_size, "buffer_size", minimum=0)
        self.epochs = check_positive_int(self.epochs, "epochs")
        self.first_epochs = check_positive_int(self.first_epochs if self.first_epochs is not None else self.epochs,
                                               "first_epochs")
        self.batch_size = check_positive_int(self.batch_size, "batch_size", minimum=2)
        for name in ("lr", "momentum", "weight_decay", "tau", "kappa_student", "kappa_teacher", "base_tau"):
            setattr(self, name, check_nonnegative(getattr(self, name), name))
        for name in ("lr", "tau", "kappa_student", "kappa_teacher", "base_tau"):
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be > 0")
        self.warmup_epochs = check_positive_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        self.probe_per_class = check_positive_int(self.probe_per_class, "probe_per_class", minimum=2)
        self.pool_eval_size = check_positive_int(self.pool_eval_size, "pool_eval_size", minimum=2)
        self.seed = check_positive_int(self.seed, "seed", minimum=0)
        self.ckpt_every = check_positive_int(self.ckpt_every, "ckpt_every")

    def task_epochs(self, t: int) -> int:
        return self.first_epochs if t == 0 else self.epochs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def prefix_key(self, lambdas: Sequence[float], extra: str = "") -> str:
        """The identity of a run's first ``len(lambdas)`` tasks: every field that shapes them (all but the
        method's own fields and ``ckpt_every``) and the distillation weights used."""
        d = {k: v for k, v in self.as_dict().items() if k not in ("method", "lam", "cila_kappa", "ckpt_every")}
        if len(lambdas) <= 1:
            d["epochs"] = None  # the first task does not depend on the later tasks' length
        return json.dumps([d, [float(v) for v in lambdas], extra], sort_keys=True)


@dataclass
class ContinualResult:
    """What :func:`run_continual` logs.

    Attributes
    ----------
    lambdas : (T,) distillation weights used (Co2L's scale).
    con_avg, dis_avg : (T,) average of Co2L's contrastive and distillation terms while training each task
        (``dis_avg[0] = 0``: no teacher on the first task).
    phi_train : (T,) the task's own (unscaled) contrastive loss :math:`\\Phi_t^t` when it ends, with current-task
        anchors and the negatives it trained with (its pool: task data and buffer), on ``pool_eval_size`` samples.
    probe_embeddings : list of T arrays (m, proj_dim), the probe set under the model after each task.
    probe_labels, probe_tasks : (m,) arrays.
    descent : list of dicts (tasks 2..T) with ``con_start, con_end, dis_start, dis_end, lam`` on the
        task's training pool, plus the result of :func:`mylib.contrastive.descent_check`.
    after_task : list of T dicts returned by ``after_task`` (e.g. a linear probe), or empty.
    train_buffers : list of T arrays, the buffer (indices) replayed during each task.
    buffer_indices, buffer_labels : the final replay buffer.
    model : the trained :class:`~mylib.nn.ContrastiveNet`.
    """

    lambdas: np.ndarray
    con_avg: np.ndarray
    dis_avg: np.ndarray
    phi_train: np.ndarray
    probe_embeddings: list[np.ndarray]
    probe_labels: np.ndarray
    probe_tasks: np.ndarray
    descent: list[dict[str, Any]]
    after_task: list[dict[str, Any]]
    train_buffers: list[np.ndarray]
    buffer_indices: np.ndarray
    buffer_labels: np.ndarray
    model: nn.Module = field(repr=False)


class TaskCache:
    """States of runs at the end of a task, keyed by :meth:`ContinualConfig.prefix_key`, so variants that share
    their first tasks (e.g. every method's first task; Co2L and CILA's second) train them once.

    An entry holds the model, optimiser and buffer states and the log so far; restoring it and continuing gives
    exactly the run that trained those tasks itself.
    """

    def __init__(self) -> None:
        self._store: dict[str, dict[str, Any]] = {}
        self.hits = 0

    def __len__(self) -> int:
        return len(self._store)

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self._store.get(key)
        if entry is not None:
            self.hits += 1
        return entry

    def put(self, key: str, state: dict[str, Any]) -> None:
        self._store[key] = copy.deepcopy(state)


def _lr(step: int, total: int, warm: int, lr: float) -> float:
    return cosine_lr(step, total, lr, warm, eta_min=lr * 1e-3)


def _views(augment: Augment, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Two random views of a batch whose finiteness :func:`run_continual` checked once (no per-step scan)."""
    token = _CHECKED.set(True)
    try:
        return torch.cat([augment(x, g), augment(x, g)])
    finally:
        _CHECKED.reset(token)


def train_step(model: nn.Module, teacher: nn.Module | None, opt: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, anchors: torch.Tensor, augment: Augment, g: torch.Generator, lam: float,
               cfg: ContinualConfig, amp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on Co2L's objective :func:`mylib.contrastive.co2l_loss` (two views of ``x``; ``anchors``
    marks the samples of the current task, whose rows are the anchors; distillation weight ``lam``); no host
    synchronisation.

    Minimises :math:`L_{\\mathrm{con}} + \\lambda L_{\\mathrm{dis}}` of {prf:ref}`def-ccl-co2l` (the distillation term
    only when :math:`\\lambda > 0`).

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained (returns normalised projections).
    teacher : torch.nn.Module or None
        The frozen model of the previous task (None on the first task).
    opt : torch.optim.Optimizer
    x, y : torch.Tensor
        The mini-batch (current task and buffer) and its labels, on the device.
    anchors : torch.Tensor
        Boolean, True for the samples of the current task.
    augment : Augment
        Draws the two views.
    g : torch.Generator
        Generator of the views.
    lam : float
        Distillation weight :math:`\\lambda`.
    cfg : ContinualConfig
        Its temperatures ``tau``, ``base_tau``, ``kappa_student``, ``kappa_teacher``.
    amp : bool
        bfloat16 autocast on CUDA.

    Returns
    -------
    con, dis : torch.Tensor
        The detached contrastive and distillation terms (0-d tensors on the device).
    """
    xx = _views(augment, x, g)
    yy = torch.cat([y, y])
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        z = model(xx)
    zt = None
    if teacher is not None:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            zt = teacher(xx).float()
    con, dis = co2l_terms(z, yy, torch.cat([anchors, anchors]), zt, cfg.tau, cfg.base_tau, cfg.kappa_student,
                          cfg.kappa_teacher)
    loss = con + lam * dis if lam > 0 else con
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return con.detach(), dis.detach()


def _pool_losses(z_new: torch.Tensor, z_old: torch.Tensor | None, y: torch.Tensor, current: torch.Tensor,
                 cfg: ContinualConfig) -> tuple[float, float, float, float]:
    """Unscaled objective terms on a fixed pool: contrastive at start/end, distillation at start/end."""
    def con(z):
        loss, valid = _supcon_core(z, y, cfg.tau)
        m = current & valid
        return float(loss[m].mean()) if bool(m.any()) else 0.0
    if z_old is None:
        return float("nan"), con(z_new), float("nan"), float("nan")
    d0 = float(_ird_core(z_old, z_old, cfg.kappa_student, cfg.kappa_teacher).mean())
    d1 = float(_ird_core(z_new, z_old, cfg.kappa_student, cfg.kappa_teacher).mean())
    return con(z_old), con(z_new), d0, d1


def _check_train(model, train, config) -> None:
    if not isinstance(model, ContrastiveNet):
        raise ValueError(f"model must be a ContrastiveNet, got {type(model).__name__}")
    if not isinstance(config, ContinualConfig):
        raise ValueError(f"config must be a ContinualConfig, got {type(config).__name__}")
    if not isinstance(train, TensorData) or len(train) == 0:
        raise ValueError("train must be a non-empty mylib.data.TensorData")
    if torch.is_floating_point(train.x) and not bool(torch.isfinite(train.x).all()):
        raise ValueError("train.x contains NaN or inf")
    present = set(torch.unique(train.y.cpu()).tolist())
    for t, cls in enumerate(config.tasks):
        missing = set(cls) - present
        if missing:
            raise ValueError(f"task {t + 1} classes {sorted(missing)} have no training sample")


def _domains(domains: Any, n: int, T: int, config: ContinualConfig) -> torch.Tensor | None:
    if config.incremental == "class":
        if domains is not None:
            raise ValueError("domains is only used with incremental='domain'")
        return None
    if domains is None:
        raise ValueError("incremental='domain' needs domains (the task index of every training sample)")
    d = check_finite_array(domains, "domains", ndim=1)
    if d.shape[0] != n or not np.all(d == np.round(d)) or d.min() < 0:
        raise ValueError(f"domains must hold {n} non-negative integers, one per training sample")
    missing = sorted(set(range(T)) - set(np.unique(d).astype(int).tolist()))
    if missing:
        raise ValueError(f"domains has no sample of task(s) {[m + 1 for m in missing]}")
    return torch.from_numpy(d.astype(np.int64))


def run_continual(model: ContrastiveNet, train: TensorData, config: ContinualConfig, augment: Augment,
                  device: torch.device | None = None, checkpoint_dir=None, desc: str = "continual",
                  interrupt_after_epochs: int | None = None,
                  after_task: Callable[[int, nn.Module, np.ndarray], dict[str, Any]] | None = None,
                  cache: TaskCache | None = None, cache_tag: str = "", domains: Any = None) -> ContinualResult:
    """Train ``model`` on the task sequence of ``config`` (Co2L's recipe, with ``lambda_t`` by method).

    Each step draws a mini-batch from the current task's samples plus the replay buffer, makes two
    augmented views and minimises Co2L's objective (:func:`mylib.contrastive.co2l_loss`)

    .. math:: \\frac{\\tau}{\\tau_b}\\,\\frac{1}{2N}\\sum_{i \\in A}\\ell^{\\tau}(i) + \\lambda_t\\,
              \\frac{1}{2N}\\sum_{i=1}^{2N}\\mathrm{CE}_i(f, f_{t-1}),

    anchors :math:`A` = the current task's rows ({prf:ref}`def-ccl-asym-supcon`, {prf:ref}`def-ccl-ird`).
    After each task: :math:`\\Phi_t^t` on the task's pool, the descent check of {prf:ref}`prop-ccl-descent`,
    the probe-set embeddings, ``after_task(t, model, replayed_buffer_indices)`` if given, then the buffer update.

    Parameters
    ----------
    model : ContrastiveNet
    train : TensorData
        All training data (features ``x`` on any device, labels ``y``).
    config : ContinualConfig
    augment : Augment
        Produces the random views (and, via ``plain``, the evaluation inputs).
    device : torch.device, optional
    checkpoint_dir : path or None
        With a directory, state is saved every ``config.ckpt_every`` epochs and at each task end, and a
        rerun resumes from it.
    desc : str
        Progress-bar label.
    interrupt_after_epochs : int, optional
        Raise :class:`TrainingInterrupted` after this many epochs in this call (after saving), to test
        resuming.
    after_task : callable, optional
        Called at the end of every task; its dict is logged (and checkpointed) in ``after_task``.
    cache : TaskCache, optional
        Restore a finished prefix of tasks from it, and store every finished task in it. Share one cache only
        among runs of the same model builder, data and augmentation (the key holds the configuration only).
    cache_tag : str
        Part of the cache key (name what ``after_task`` computes, so runs with different hooks do not mix).
    domains : array of int, optional
        The domain (task index) of every training sample; required when ``config.incremental == "domain"``. The
        buffer is then balanced over (domain, class) pairs and the probe set holds ``probe_per_class`` samples of
        every class of every domain.

    Returns
    -------
    ContinualResult

    Raises
    ------
    ValueError
        If the model is not a :class:`~mylib.nn.ContrastiveNet`, the data are empty or contain NaN/inf, a task
        class is missing from the data, or the checkpoint belongs to another configuration.
    FloatingPointError
        If a loss becomes non-finite.
    """
    _check_train(model, train, config)
    device = device or get_device()
    y_all = train.y.cpu().long()
    T = len(config.tasks)
    dom = _domains(domains, len(train), T, config)
    C = int(y_all.max()) + 1
    balance_key = y_all if dom is None else dom * C + y_all  # what the buffer and the probe set balance over
    model.to(device)
    x_dev = train.x.to(device)
    y_dev = y_all.to(device)
    amp = config.amp and device.type == "cuda"

    probe = probe_indices(balance_key.numpy(), dry_run_cap(config.probe_per_class), seed=config.seed)  # dry run: 2
    if dom is None:
        task_of_class = {c: t for t, cls in enumerate(config.tasks) for c in cls}
        probe = probe[np.isin(y_all.numpy()[probe], list(task_of_class))]
        probe_tasks = np.array([task_of_class[int(c)] for c in y_all.numpy()[probe]])
    else:
        probe_tasks = dom.numpy()[probe]
    probe_x = train.x[torch.as_tensor(probe)]

    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    buffer = ClassBalancedBuffer(config.buffer_size)
    rec: dict[str, Any] = {"lambdas": [], "con_avg": [], "dis_avg": [], "phi_train": [], "embeddings": [],
                           "descent": [], "after_task": [], "train_buffers": []}
    start_task, start_epoch = 0, 0
    sums = {"con": 0.0, "dis": 0.0, "n": 0}
    teacher_state, start_embed = None, None

    ck = Checkpointer(checkpoint_dir)
    state = ck.load(map_location=device)
    if state is not None:
        if state["config"] != config.as_dict():
            raise ValueError("checkpoint was written with a different ContinualConfig; use a fresh run_dir")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        buffer.load_state_dict(state["buffer"])
        rec, sums = state["record"], state["sums"]
        start_task, start_epoch = state["task"], state["epoch"]
        teacher_state, start_embed = state["teacher"], state["start_embed"]

    def save(task: int, epoch: int, teacher: nn.Module | None, start_emb) -> None:
        if ck.path is None:
            return
        ck.save({"config": config.as_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "buffer": buffer.state_dict(), "record": rec, "sums": sums, "task": task, "epoch": epoch,
                 "teacher": None if teacher is None else teacher.state_dict(), "start_embed": start_emb})

    epochs_run = 0
    total_epochs = sum(config.task_epochs(t) for t in range(T))
    done_epochs = sum(config.task_epochs(t) for t in range(start_task)) + start_epoch
    bar = progress(total=total_epochs, initial=done_epochs, desc=desc, unit="epoch")
    for t in range(start_task, T):
        cls = torch.tensor(config.tasks[t])
        in_task = torch.isin(y_all, cls) if dom is None else (dom == t) & torch.isin(y_all, cls)
        task_idx = torch.nonzero(in_task).flatten()
        replayed = buffer.indices.clone()
        pool = torch.cat([task_idx, replayed])
        # lambda_t
        if t == 0 or config.method == "replay":
            lam = 0.0
        elif config.method == "co2l":
            lam = config.lam
        else:
            lam = float(cila_lambdas(np.r_[rec["con_avg"], 0.0], np.r_[rec["dis_avg"], 0.0],
                                     config.cila_kappa)[t])
        key = config.prefix_key([*rec["lambdas"], lam], cache_tag)
        hit = cache.get(key) if (cache is not None and start_epoch == 0) else None
        if hit is not None:  # this task, with these weights before it, was trained by another variant
            model.load_state_dict(hit["model"])
            opt.load_state_dict(hit["optimizer"])
            buffer.load_state_dict(hit["buffer"])
            rec = copy.deepcopy(hit["record"])
            bar.update(config.task_epochs(t))
            save(t + 1, 0, None, None)
            continue
        # teacher = a copy of the model at the start of the task (Co2L: left in train mode)
        teacher = None
        if t > 0:
            teacher = copy.deepcopy(model)
            if teacher_state is not None and start_epoch > 0:
                teacher.load_state_dict(teacher_state)
            teacher.train(config.teacher_bn == "train")
            for p in teacher.parameters():
                p.requires_grad_(False)
        g_eval = torch_generator("pool-eval", config.seed, t)
        eval_sel = pool[torch.randperm(pool.numel(), generator=g_eval)[:dry_run_cap(config.pool_eval_size, 8)]]
        if t > 0 and (start_embed is None or start_epoch == 0):
            start_embed = embed(teacher, train.x[eval_sel], augment.plain, device, amp=amp).cpu()
        epochs = dry_run_cap(config.task_epochs(t))  # a dry run: 2 epochs of 1 step of 4 samples per task
        n = pool.numel()
        bs = dry_run_cap(min(config.batch_size, n), 4)
        steps = dry_run_cap(math.ceil(n / bs), 1)
        warm = config.warmup_epochs * steps
        current = in_task.to(device)  # anchors: the rows of the current task's samples (never the buffer's)
        for e in range(start_epoch if t == start_task else 0, epochs):
            model.train()
            g = torch_generator("continual-epoch", config.seed, t, e)
            order = pool[torch.randperm(n, generator=g)].to(device)  # one host-to-device copy per epoch
            acc_con = torch.zeros((), device=device, dtype=torch.float64)
            acc_dis = torch.zeros((), device=device, dtype=torch.float64)
            for b in range(steps):
                lr = _lr(e * steps + b, epochs * steps, warm, config.lr)
                for group in opt.param_groups:
                    group["lr"] = lr
                idx = order[b * bs:(b + 1) * bs]
                con, dis = train_step(model, teacher, opt, x_dev[idx], y_dev[idx], current[idx], augment, g, lam,
                                      config, amp)
                acc_con += con.double() * len(idx)
                acc_dis += dis.double() * len(idx)
                sums["n"] += len(idx)
            sums["con"] += float(acc_con)
            sums["dis"] += float(acc_dis)
            if not (math.isfinite(sums["con"]) and math.isfinite(sums["dis"])):
                raise FloatingPointError(f"non-finite loss in task {t + 1}, epoch {e + 1}")
            bar.update(1)
            epochs_run += 1
            last = e + 1 == epochs
            if not last and (e + 1) % config.ckpt_every == 0:
                save(t, e + 1, teacher, start_embed)
            if interrupt_after_epochs is not None and epochs_run >= interrupt_after_epochs and not last:
                save(t, e + 1, teacher, start_embed)
                bar.close()
                raise TrainingInterrupted(f"stopped after {epochs_run} epochs (task {t + 1}, epoch {e + 1})")
        # ---- end of task t
        rec["lambdas"].append(lam)
        rec["con_avg"].append(sums["con"] / max(sums["n"], 1))
        rec["dis_avg"].append(sums["dis"] / max(sums["n"], 1) if t > 0 else 0.0)
        sums = {"con": 0.0, "dis": 0.0, "n": 0}
        rec["embeddings"].append(embed(model, probe_x, augment.plain, device, amp=amp).cpu().double().numpy())
        end_embed = embed(model, train.x[eval_sel], augment.plain, device, amp=amp).cpu()
        cur = in_task[eval_sel]
        c0, c1, d0, d1 = _pool_losses(end_embed.double(), None if t == 0 else start_embed.double(),
                                      y_all[eval_sel], cur, config)
        rec["phi_train"].append(c1)
        if t > 0:
            rec["descent"].append({"task": t + 1, "con_start": c0, "con_end": c1, "dis_start": d0, "dis_end": d1,
                                   "lam": lam, **descent_check(c0, c1, d0, d1, lam)})
        rec["train_buffers"].append(replayed.numpy())
        if after_task is not None:
            rec["after_task"].append(after_task(t, model, replayed.numpy()))
        buffer.update(task_idx, balance_key[task_idx], generator=torch_generator("buffer", config.seed, t))
        teacher_state, start_embed, start_epoch = None, None, 0
        if cache is not None:
            cache.put(key, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                            "buffer": buffer.state_dict(), "record": rec})
        save(t + 1, 0, None, None)
        if interrupt_after_epochs is not None and epochs_run >= interrupt_after_epochs and t + 1 < T:
            bar.close()
            raise TrainingInterrupted(f"stopped after {epochs_run} epochs (end of task {t + 1})")
    bar.close()
    model.eval()
    return ContinualResult(lambdas=np.array(rec["lambdas"]), con_avg=np.array(rec["con_avg"]),
                           dis_avg=np.array(rec["dis_avg"]), phi_train=np.array(rec["phi_train"]),
                           probe_embeddings=rec["embeddings"], probe_labels=y_all.numpy()[probe],
                           probe_tasks=probe_tasks, descent=rec["descent"], after_task=rec["after_task"],
                           train_buffers=rec["train_buffers"], buffer_indices=buffer.indices.numpy(),
                           buffer_labels=buffer.labels.numpy(), model=model)


# --------------------------------------------------------------------------- evaluation
def _task_samples(y: torch.Tensor, config: ContinualConfig, t: int, domains: Any) -> np.ndarray:
    in_task = torch.isin(y.cpu(), torch.tensor(config.tasks[t]))
    if domains is not None:
        in_task &= torch.as_tensor(np.asarray(domains)) == t
    return torch.nonzero(in_task).flatten().numpy()


def _probe_after_task(train: TensorData, test: TensorData, config: ContinualConfig, augment: Augment,
                      device, probe_kw: dict[str, Any], train_domains: Any = None, test_domains: Any = None
                      ) -> Callable[[int, nn.Module, np.ndarray], dict[str, Any]]:
    """A hook for :func:`run_continual`: Co2L's linear probe after task ``t`` (trained on task ``t``'s data and
    the buffer it replayed, tested on tasks ``1..t``)."""

    def hook(t: int, model: nn.Module, replayed: np.ndarray) -> dict[str, Any]:
        cur = _task_samples(train.y, config, t, train_domains)
        return linear_probe(model, train, test, config.tasks, np.concatenate([cur, replayed]), augment,
                            device=device, seed=config.seed, amp=config.amp, test_tasks=range(t + 1),
                            test_task_of=test_domains, **probe_kw)

    return hook


def accuracy_matrix(after_task: Sequence[dict[str, Any]], key: str = "class_il_per_task") -> np.ndarray:
    """The :math:`T \\times T` matrix :math:`a_{t,s}` (accuracy on task ``s`` after task ``t``; NaN above the
    diagonal) from the per-task probes logged by :func:`run_continual`.

    Parameters
    ----------
    after_task : sequence of dict
        One probe result per task (``ContinualResult.after_task``); entry ``t`` holds ``key`` with ``t + 1`` values.
    key : str, default "class_il_per_task"
        Which per-task accuracy to use (``"task_il_per_task"`` for Task-IL).

    Returns
    -------
    (T, T) numpy.ndarray
        Input to :func:`forgetting` and :func:`backward_transfer`.

    Raises
    ------
    ValueError
        If ``after_task`` is empty (train with a per-task probe).
    """
    T = len(after_task)
    if T == 0:
        raise ValueError("after_task is empty: train with a per-task probe")
    A = np.full((T, T), np.nan)
    for t, r in enumerate(after_task):
        A[t, :t + 1] = r[key]
    return A


def _acc_matrix(acc: Any) -> np.ndarray:
    A = check_finite_array(np.nan_to_num(np.asarray(acc, dtype=float), nan=0.0), "acc", ndim=2)
    if A.shape[0] != A.shape[1] or A.shape[0] < 2:
        raise ValueError(f"acc must be a square T x T matrix with T >= 2, got shape {A.shape}")
    low = np.tril(np.ones(A.shape, bool))
    if not np.all(np.isfinite(np.asarray(acc, dtype=float)[low])):
        raise ValueError("acc must be finite on and below the diagonal")
    return np.asarray(acc, dtype=float)


def forgetting(acc: Any) -> float:
    """Average forgetting (Chaudhry et al., 2018) of an accuracy matrix :math:`a_{t,s}` (row: after task ``t``,
    column: task ``s``; entries above the diagonal are ignored):

    .. math:: F = \\frac{1}{T-1}\\sum_{s=1}^{T-1} \\Bigl(\\max_{t \\in \\{s,\\dots,T-1\\}} a_{t,s} - a_{T,s}\\Bigr).

    Parameters
    ----------
    acc : (T, T) array, T >= 2

    Returns
    -------
    float (in the units of ``acc``).

    Raises
    ------
    ValueError
        If ``acc`` is not square with T >= 2 or not finite on and below the diagonal.
    """
    A = _acc_matrix(acc)
    T = A.shape[0]
    return float(np.mean([np.max(A[s:T - 1, s]) - A[T - 1, s] for s in range(T - 1)]))


def backward_transfer(acc: Any) -> float:
    """Backward transfer (Lopez-Paz & Ranzato, 2017) of an accuracy matrix :math:`a_{t,s}`:

    .. math:: \\mathrm{BWT} = \\frac{1}{T-1}\\sum_{s=1}^{T-1} \\bigl(a_{T,s} - a_{s,s}\\bigr)

    (negative: forgetting).

    Parameters
    ----------
    acc : (T, T) array, T >= 2
        Row: after task ``t``, column: task ``s``; entries above the diagonal are ignored (:func:`accuracy_matrix`).

    Returns
    -------
    float
        In the units of ``acc``.

    Raises
    ------
    ValueError
        If ``acc`` is not square with T >= 2 or not finite on and below the diagonal (as :func:`forgetting`).
    """
    A = _acc_matrix(acc)
    T = A.shape[0]
    return float(np.mean([A[T - 1, s] - A[s, s] for s in range(T - 1)]))


def evaluate_run(result: ContinualResult, train: TensorData, test: TensorData, config: ContinualConfig,
                 augment: Augment, device: torch.device | None = None, probe_epochs: int = 100,
                 probe_lr: float = 0.1, probe_batch_size: int = 256, probe_augment: bool = False,
                 probe_schedule: str = "step", probe_balance: str = "sampler", train_domains: Any = None,
                 test_domains: Any = None) -> dict[str, Any]:
    """Linear probe after the last task (its data and the buffer it replayed, as Co2L) and both sides of
    {prf:ref}`thm-ccl-bound` for one run. When the run logged a probe after every task, its last one is used.

    Parameters
    ----------
    result : ContinualResult
        What :func:`run_continual` returned.
    train, test : TensorData
        The data the run trained on and the test data of the probe.
    config : ContinualConfig
        The run's configuration (tasks, temperatures, seed).
    augment : Augment
        The views (:func:`mylib.nn.linear_probe` uses ``augment.plain``, and the views with ``probe_augment``).
    device : torch.device, optional
    probe_epochs, probe_lr, probe_batch_size, probe_augment, probe_schedule, probe_balance
        ``epochs``, ``lr``, ``batch_size``, ``probe_augment``, ``schedule`` and ``balance`` of
        :func:`mylib.nn.linear_probe` ({prf:ref}`def-ccl-probe`).
    train_domains, test_domains : array_like, optional
        Every sample's task for a domain-incremental configuration.

    Returns
    -------
    dict
        The accuracies of :func:`mylib.nn.linear_probe`, ``bound`` (:func:`continual_bound`), ``terms``
        (:func:`bound_terms`) and, with per-task probes, ``acc_matrix``, ``forgetting`` and ``bwt`` (Class-IL).
    """
    out: dict[str, Any] = {}
    if result.after_task:
        acc = dict(result.after_task[-1])
        A = accuracy_matrix(result.after_task)
        out.update(acc_matrix=A, forgetting=forgetting(A), bwt=backward_transfer(A))
    else:
        last = _task_samples(train.y, config, len(config.tasks) - 1, train_domains)
        acc = linear_probe(result.model, train, test, config.tasks, np.concatenate([last, result.train_buffers[-1]]),
                           augment, device=device, epochs=probe_epochs, lr=probe_lr, batch_size=probe_batch_size,
                           seed=config.seed, probe_augment=probe_augment, amp=config.amp, schedule=probe_schedule,
                           balance=probe_balance, test_task_of=test_domains)
    terms = bound_terms(result.probe_embeddings, result.probe_labels, result.probe_tasks, tau=config.tau,
                        kappa=config.kappa_student, kappa_star=config.kappa_teacher)
    return {**acc, **out, "bound": continual_bound(terms), "terms": terms}


def run_grid(train: TensorData, test: TensorData, model_fn: Callable[[], ContrastiveNet], base: ContinualConfig,
             variants: dict[str, dict[str, Any]], seeds: Sequence[int], augment: Augment,
             device: torch.device | None = None, probe_epochs: int = 100, probe_lr: float = 0.1,
             probe_batch_size: int = 256, probe_augment: bool = False, probe_schedule: str = "step",
             probe_balance: str = "sampler", per_task_probe: bool = False, cache: TaskCache | None = None,
             checkpoint_dir_fn: Callable[[str, int, dict], Any] | None = None, train_domains: Any = None,
             test_domains: Any = None) -> list[dict[str, Any]]:
    """Train and evaluate every ``variant`` (overrides of ``base``) for every seed.

    ``model_fn()`` builds a fresh model (called after :func:`mylib.seed_everything` ``(seed)``). Variants that
    share a prefix of tasks share its training through ``cache`` (a fresh :class:`TaskCache` by default).
    ``checkpoint_dir_fn(name, seed, config_dict)`` may return a folder (e.g. from :func:`mylib.run_dir`)
    so each run resumes after an interruption. With ``per_task_probe`` a linear probe runs after every task
    (accuracy matrix, forgetting, backward transfer). For a domain-incremental ``base``
    (``incremental="domain"``), ``train_domains`` and ``test_domains`` give every sample's task.

    Parameters
    ----------
    train, test : TensorData
    model_fn : callable
        ``model_fn()`` returning a fresh :class:`~mylib.nn.models.ContrastiveNet`.
    base : ContinualConfig
    variants : dict
        Name -> overrides of ``base`` (e.g. ``{"Co2L": {}, "CILA": {"method": "cila"}}``).
    seeds : sequence of int
    augment : Augment
        The training views (e.g. :func:`digits_augment`, :func:`image_augment`).
    device : torch.device, optional
    probe_epochs, probe_lr, probe_batch_size, probe_augment, probe_schedule, probe_balance
        The linear probe's settings, as in :func:`evaluate_run`.
    per_task_probe : bool, default False
        Probe after every task (needed for the accuracy matrix).
    cache : TaskCache, optional
        Shared training of common task prefixes (default: a fresh one).
    checkpoint_dir_fn : callable, optional
        ``checkpoint_dir_fn(name, seed, config_dict)`` returning a checkpoint folder or None.
    train_domains, test_domains : array_like, optional
        Every sample's task, for ``incremental="domain"``.

    Returns
    -------
    list of dict, one per (variant, seed): ``name``, ``seed``, ``class_il``, ``task_il``, per-task
    accuracies, ``lambdas``, ``con_avg``, ``dis_avg``, ``phi_train``, the bound's dictionary (``bound``), the
    :class:`~mylib.contrastive.BoundTerms` (``terms``), the descent records, the config, the probe-set
    representations (``probe_embeddings``, ``probe_labels``, ``probe_tasks``) and, with per-task probes,
    ``acc_matrix``, ``forgetting``, ``bwt``.

    Raises
    ------
    ValueError
        If ``variants`` or ``seeds`` is empty.
    """
    from ..runtime import seed_everything

    if not variants:
        raise ValueError("variants is empty")
    if len(seeds) == 0:
        raise ValueError("seeds is empty")
    seeds = list(seeds)[:dry_run_cap(len(seeds), 1)]  # a dry run: the first seed (every variant still runs)
    cache = TaskCache() if cache is None else cache
    probe_kw = dict(epochs=probe_epochs, lr=probe_lr, batch_size=probe_batch_size, probe_augment=probe_augment,
                    schedule=probe_schedule, balance=probe_balance)
    tag = json.dumps(probe_kw, sort_keys=True) if per_task_probe else ""
    records = []
    for name, overrides in variants.items():
        for seed in seeds:
            cfg = replace(base, seed=int(seed), **overrides)
            seed_everything(int(seed))
            model = model_fn()
            ckdir = checkpoint_dir_fn(name, int(seed), cfg.as_dict()) if checkpoint_dir_fn else None
            dom = dict(train_domains=train_domains, test_domains=test_domains)
            hook = _probe_after_task(train, test, cfg, augment, device, probe_kw, **dom) if per_task_probe else None
            res = run_continual(model, train, cfg, augment, device=device, checkpoint_dir=ckdir,
                                desc=f"{name} seed {seed}", after_task=hook, cache=cache, cache_tag=tag,
                                domains=train_domains)
            ev = evaluate_run(res, train, test, cfg, augment, device=device, probe_epochs=probe_epochs,
                              probe_lr=probe_lr, probe_batch_size=probe_batch_size, probe_augment=probe_augment,
                              probe_schedule=probe_schedule, probe_balance=probe_balance, **dom)
            records.append({"name": name, "seed": int(seed), **{k: v for k, v in ev.items()},
                            "lambdas": res.lambdas, "con_avg": res.con_avg, "dis_avg": res.dis_avg,
                            "phi_train": res.phi_train, "descent": res.descent, "config": cfg,
                            "probe_embeddings": res.probe_embeddings, "probe_labels": res.probe_labels,
                            "probe_tasks": res.probe_tasks})
    return records


# --------------------------------------------------------------------------- profiles
register(
    "part2_seq_digits",
    smoke=dict(num_tasks=5, classes_per_task=2, buffer_size=50, epochs=8, first_epochs=8, batch_size=128,
               lr=0.01, hidden=128, feat_dim=64, proj_dim=32, tau=0.5, kappa_student=0.2, kappa_teacher=0.01,
               co2l_lambda=1.0, cila_kappas=[4.0, 16.0, 64.0], seeds=[0, 1, 2, 3, 4], probe_per_class=20,
               probe_epochs=60, probe_lr=0.1, probe_batch_size=512, first_task_epochs=[1, 8, 24],
               noise_std=0.3, crop_padding=1, posthoc_temperatures=[[0.2, 0.01], [0.2, 0.2], [0.5, 0.5]]),
    full=dict(num_tasks=5, classes_per_task=2, buffer_size=50, epochs=30, first_epochs=30, batch_size=128,
              lr=0.01, hidden=256, feat_dim=128, proj_dim=64, tau=0.5, kappa_student=0.2, kappa_teacher=0.01,
              co2l_lambda=1.0, cila_kappas=[4.0, 16.0, 64.0], seeds=list(range(10)), probe_per_class=20,
              probe_epochs=100, probe_lr=0.1, probe_batch_size=512, first_task_epochs=[1, 30, 100],
              noise_std=0.3, crop_padding=1, posthoc_temperatures=[[0.2, 0.01], [0.2, 0.2], [0.5, 0.5]]),
)

register(
    "part2_seq_cifar10",
    smoke=dict(dataset="digits-rgb", image_size=12, width=4, proj_dim=32, num_classes=10, classes_per_task=2,
               min_crop=0.2, buffer_sizes=[20, 50], epochs=2, first_epochs=3, batch_size=64, lr=0.05, warmup_epochs=0, tau=0.5, kappa_student=0.2,
               kappa_teacher=0.01, co2l_lambda=1.0, cila_kappa=16.0, cila_kappas=[16.0, 64.0], seeds=[0, 1, 2, 3, 4],
               probe_epochs=40, probe_lr=0.1,
               probe_batch_size=512, probe_augment=False, probe_per_class=10, amp=False, pool_eval_size=256,
               ckpt_every=1),
    full=dict(dataset="cifar10", image_size=32, width=64, proj_dim=128, num_classes=10, classes_per_task=2,
              min_crop=0.2, buffer_sizes=[200, 500], epochs=100,
              first_epochs=500, batch_size=512, lr=0.5, warmup_epochs=10, tau=0.5, kappa_student=0.2,
              kappa_teacher=0.01, co2l_lambda=1.0, cila_kappa=4.0, cila_kappas=[1.0, 4.0, 16.0, 64.0], seeds=[0, 1, 2],
              probe_epochs=100, probe_lr=1.0,
              probe_batch_size=256, probe_augment=True, probe_per_class=50, amp=True, pool_eval_size=2048,
              ckpt_every=5),
)

register(
    "part2_rotated_digits",
    smoke=dict(dataset="digits", num_domains=5, sample_stride=3, buffer_sizes=[20, 50], epochs=3, first_epochs=3,
               batch_size=128, lr=0.01, hidden=128, feat_dim=64, proj_dim=32, tau=0.5, kappa_student=0.2,
               kappa_teacher=0.01, co2l_lambda=1.0, cila_kappas=[16.0], seeds=[0, 1, 2, 3, 4], probe_per_class=4,
               probe_epochs=40, probe_lr=0.1, probe_batch_size=512, noise_std=0.3, crop_padding=1),
    full=dict(dataset="mnist", num_domains=20, sample_stride=1, buffer_sizes=[200, 500], epochs=10, first_epochs=10,
              batch_size=256, lr=0.05, hidden=256, feat_dim=128, proj_dim=64, tau=0.5, kappa_student=0.2,
              kappa_teacher=0.01, co2l_lambda=1.0, cila_kappas=[4.0, 16.0], seeds=[0, 1, 2], probe_per_class=5,
              probe_epochs=100, probe_lr=0.1, probe_batch_size=512, noise_std=0.0, crop_padding=2),
)

register(
    "part2_seq_tinyimagenet",
    smoke=dict(dataset="digits-rgb", image_size=12, width=4, proj_dim=32, num_classes=10, classes_per_task=2,
               buffer_sizes=[20, 50], epochs=2, first_epochs=3, batch_size=64, lr=0.05, warmup_epochs=0, tau=0.5,
               kappa_student=0.2, kappa_teacher=0.01, co2l_lambda=1.0, cila_kappa=16.0, cila_kappas=[16.0],
               seeds=[0, 1, 2, 3, 4], probe_epochs=40, probe_lr=0.1, probe_batch_size=512, probe_augment=False,
               probe_per_class=10, amp=False, pool_eval_size=256, ckpt_every=100, min_crop=0.2),
    full=dict(dataset="tiny-imagenet", image_size=64, width=64, proj_dim=128, num_classes=200, classes_per_task=20,
              buffer_sizes=[200, 500], epochs=50, first_epochs=500, batch_size=512, lr=0.5, warmup_epochs=10,
              tau=0.5, kappa_student=0.2, kappa_teacher=0.01, co2l_lambda=1.0, cila_kappa=4.0,
              cila_kappas=[1.0, 4.0, 16.0], seeds=[0, 1, 2], probe_epochs=100, probe_lr=1.0, probe_batch_size=256,
              probe_augment=True, probe_per_class=10, amp=True, pool_eval_size=2048, ckpt_every=5, min_crop=0.1),
)
