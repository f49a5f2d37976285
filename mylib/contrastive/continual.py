"""Part II training machinery: encoders, the continual contrastive trainer (Co2L / CILA) and the linear probe.

The losses and the bound are in :mod:`mylib.contrastive`; this module runs the experiments of
{doc}`../book/part2_contrastive_cl`:

* :class:`ContrastiveNet` = encoder (:class:`MLPEncoder` for the 8x8 digits, :class:`ResNet18`
  for images) + a two-layer projection head whose output is L2-normalised;
* :func:`run_continual` trains it on a sequence of tasks with a class-balanced replay buffer, two
  augmented views per sample, the asymmetric SupCon loss and ``lambda_t`` times the relation
  distillation loss (teacher: a frozen copy of the model at the start of the task). It logs the
  per-task average losses that CILA needs ({prf:ref}`def-ccl-cila`), the probe-set representations
  after every task that {prf:ref}`thm-ccl-bound` needs, and the descent check of
  {prf:ref}`prop-ccl-descent`. It checkpoints every ``ckpt_every`` epochs and resumes exactly;
* :func:`linear_probe` trains a linear classifier on frozen encoder features (last task's data +
  buffer, class-balanced) and reports Class-IL and Task-IL accuracy.

The data order and the augmentations of epoch ``e`` of task ``t`` come from a generator seeded by
``(seed, t, e)``, so a run that is killed and resumed ends with the same numbers (bit-identical on
a CPU with a fixed thread count).
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .._checks import check_nonnegative, check_positive_int
from .losses import (Augment, ClassBalancedBuffer, _ird_core, _supcon_core, bound_terms, cila_lambdas,
                          continual_bound, descent_check)
from ..data import TensorData, load_cifar_tensors, load_digits_split
from ..runtime import (Checkpointer, TrainingInterrupted, cosine_lr, dry_run_cap, get_device, progress,
                       seed_everything)

__all__ = [
    "MLPEncoder", "ResNet18", "ContrastiveNet", "build_model", "ContinualConfig", "ContinualResult",
    "run_continual", "linear_probe", "evaluate_run", "run_grid", "probe_indices", "digits_tasks", "digits_rgb_standin",
    "cifar10_tensors", "digits_augment", "image_augment", "TrainingInterrupted", "METHODS",
    "CIFAR_MEAN", "CIFAR_STD",
]

METHODS = ("replay", "co2l", "cila")
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)  # the values in Co2L's code




# --------------------------------------------------------------------------- encoders
class MLPEncoder(nn.Module):
    """``flatten -> Linear(in, hidden) -> ReLU -> Linear(hidden, feat) -> ReLU`` (for the 8x8 digits)."""

    def __init__(self, in_dim: int = 64, hidden: int = 128, feat_dim: int = 64):
        super().__init__()
        in_dim, hidden, feat_dim = (check_positive_int(v, n) for v, n in
                                    ((in_dim, "in_dim"), (hidden, "hidden"), (feat_dim, "feat_dim")))
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, feat_dim), nn.ReLU())
        self.feature_dim = feat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.short(x))


class ResNet18(nn.Module):
    """CIFAR-style ResNet-18 (He et al., 2016): 3x3 stem without max-pool, four stages of two basic
    blocks with widths ``w, 2w, 4w, 8w``, global average pooling; ``feature_dim = 8 w``.
    ``width=64`` is the standard network used by Co2L; the smoke profile uses a tiny width.
    """

    def __init__(self, width: int = 64, in_channels: int = 3):
        super().__init__()
        w = check_positive_int(width, "width")
        cin = check_positive_int(in_channels, "in_channels")
        self.stem = nn.Sequential(nn.Conv2d(cin, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        layers, c = [], w
        for i, mult in enumerate((1, 2, 4, 8)):
            for j in range(2):
                layers.append(_BasicBlock(c, w * mult, 2 if (i > 0 and j == 0) else 1))
                c = w * mult
        self.layers = nn.Sequential(*layers)
        self.feature_dim = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1)


class ContrastiveNet(nn.Module):
    """Encoder + projection head ``Linear(f, f) -> ReLU -> Linear(f, proj_dim)`` with L2-normalised output.

    ``features(x)`` is the encoder output (what the linear probe sees); ``forward(x)`` the unit-norm
    projection on which the contrastive and distillation losses are computed.
    """

    def __init__(self, encoder: nn.Module, proj_dim: int = 128):
        super().__init__()
        f = int(getattr(encoder, "feature_dim"))
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(f, f), nn.ReLU(), nn.Linear(f, check_positive_int(proj_dim, "proj_dim")))
        self.feature_dim = f

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.encoder(x)).float(), dim=1)


def build_model(arch: str, proj_dim: int = 128, **kwargs: Any) -> ContrastiveNet:
    """``build_model("mlp", in_dim=64, hidden=128, feat_dim=64)`` or ``build_model("resnet18", width=64)``."""
    if arch == "mlp":
        return ContrastiveNet(MLPEncoder(**kwargs), proj_dim)
    if arch == "resnet18":
        return ContrastiveNet(ResNet18(**kwargs), proj_dim)
    raise ValueError(f"unknown arch {arch!r}; valid: 'mlp', 'resnet18'")


# --------------------------------------------------------------------------- data
def digits_tasks(split_seed: int = 0) -> tuple[TensorData, TensorData]:
    """scikit-learn digits as standardised 1x8x8 images (train 1347, test 450), split with ``split_seed``."""
    return load_digits_split(seed=split_seed, image=True)


def digits_rgb_standin(image_size: int = 16, split_seed: int = 0, colour_seed: int = 0
                       ) -> tuple[TensorData, TensorData]:
    """A tiny offline stand-in for CIFAR-10: the digits (pixels scaled to [0, 1]), upsampled
    (bilinear) to ``image_size`` and coloured with a random RGB colour per image, stored as uint8
    ``(n, 3, image_size, image_size)`` like CIFAR. For pipeline checks only.
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
    """CIFAR-10 train/test as uint8 tensors ``(n, 3, 32, 32)`` (:func:`mylib.data.load_cifar_tensors`)."""
    return load_cifar_tensors("cifar10", root=root, download=download)


def digits_augment(noise_std: float = 0.3, crop_padding: int = 1) -> Augment:
    """Views of a standardised digit: a random shift (crop of the 1-pixel zero-padded image) plus Gaussian noise."""
    return Augment(crop_padding=crop_padding, noise_std=noise_std)


def image_augment(mean: Sequence[float] = CIFAR_MEAN, std: Sequence[float] = CIFAR_STD) -> Augment:
    """Co2L's CIFAR views: random resized crop (scale 0.2-1), flip, colour jitter (0.4, 0.4, 0.4, 0.1)
    with probability 0.8, grayscale with probability 0.2, then normalisation."""
    return Augment(resized_crop=(0.2, 1.0), hflip=0.5, jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.8,
                   grayscale=0.2, mean=tuple(mean), std=tuple(std))


def probe_indices(labels: Any, per_class: int, seed: int = 0) -> np.ndarray:
    """A fixed, class-balanced subset (``per_class`` samples of every class) of a dataset's indices:
    the probe set on which the losses of {prf:ref}`thm-ccl-bound` are evaluated."""
    lab = np.asarray(labels.cpu() if torch.is_tensor(labels) else labels)
    k = check_positive_int(per_class, "per_class", minimum=2)
    rng = np.random.default_rng(seed)
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
        The classes of each task, in order.
    method : {"replay", "co2l", "cila"}
        ``replay``: no distillation (``lambda_t = 0``, buffer kept); ``co2l``: ``lambda_t = lam`` for
        ``t >= 2``; ``cila``: :func:`mylib.contrastive.cila_lambdas` with ``cila_kappa``.
    lam, cila_kappa : float
    buffer_size : int
    epochs, first_epochs : int
        Epochs per task; the first task's (Co2L trains it longer).
    batch_size, lr, momentum, weight_decay, warmup_epochs :
        SGD with a per-task linear warm-up then cosine decay to ``lr / 1000`` (as Co2L).
    tau, kappa_student, kappa_teacher : float
        Temperatures of the contrastive loss and of the student/teacher relation distributions.
    probe_per_class : int
        Size per class of the fixed probe set on which the bound's losses are evaluated.
    pool_eval_size : int
        Samples of each task's training pool used for the descent check.
    seed : int
    amp : bool
        bf16 autocast on CUDA (the losses are computed in float32).
    ckpt_every : int
        Save a checkpoint every so many epochs (when a directory is given).
    """

    tasks: list[list[int]]
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
    probe_per_class: int = 20
    pool_eval_size: int = 512
    seed: int = 0
    amp: bool = False
    ckpt_every: int = 1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid: {METHODS}")
        if not self.tasks or any(len(t) == 0 for t in self.tasks):
            raise ValueError("tasks must be a non-empty list of non-empty class lists")
        flat = [c for t in self.tasks for c in t]
        if len(set(flat)) != len(flat):
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
        for name in ("lr", "momentum", "weight_decay", "tau", "kappa_student", "kappa_teacher"):
            setattr(self, name, check_nonnegative(getattr(self, name), name))
        for name in ("lr", "tau", "kappa_student", "kappa_teacher"):
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


@dataclass
class ContinualResult:
    """What :func:`run_continual` logs.

    Attributes
    ----------
    lambdas : (T,) distillation coefficients used.
    con_avg, dis_avg : (T,) average contrastive / distillation losses while training each task
        (``dis_avg[0] = 0``: no teacher on the first task).
    probe_embeddings : list of T arrays (m, proj_dim), the probe set under the model after each task.
    probe_labels, probe_tasks : (m,) arrays.
    descent : list of dicts (tasks 2..T) with ``con_start, con_end, dis_start, dis_end, lam`` on the
        task's training pool, plus the result of :func:`mylib.contrastive.descent_check`.
    buffer_indices, buffer_labels : the final replay buffer.
    model : the trained :class:`ContrastiveNet`.
    """

    lambdas: np.ndarray
    con_avg: np.ndarray
    dis_avg: np.ndarray
    probe_embeddings: list[np.ndarray]
    probe_labels: np.ndarray
    probe_tasks: np.ndarray
    descent: list[dict[str, Any]]
    buffer_indices: np.ndarray
    buffer_labels: np.ndarray
    model: nn.Module = field(repr=False)


def _generator(seed: int, task: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + 10_007 * int(task) + int(epoch) + 1)


def _lr(step: int, total: int, warm: int, lr: float) -> float:
    return cosine_lr(step, total, lr, warm, eta_min=lr * 1e-3)


@torch.no_grad()
def _embed(model: nn.Module, x: torch.Tensor, augment: Augment, device, batch: int = 1024,
           features: bool = False, amp: bool = False) -> torch.Tensor:
    was = model.training
    model.eval()
    outs = []
    for i in range(0, x.shape[0], batch):
        xb = augment.plain(x[i:i + batch].to(device))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
            out = model.features(xb) if features else model(xb)
        outs.append(out.float())
    model.train(was)
    return torch.cat(outs)


def _pool_losses(z_new: torch.Tensor, z_old: torch.Tensor, y: torch.Tensor, current: torch.Tensor,
                 cfg: ContinualConfig) -> tuple[float, float, float, float]:
    """Objective terms on a fixed pool: contrastive at start/end, distillation at start/end."""
    def con(z):
        loss, valid = _supcon_core(z, y, cfg.tau)
        m = current & valid
        return float(loss[m].mean()) if bool(m.any()) else 0.0
    d0 = float(_ird_core(z_old, z_old, cfg.kappa_student, cfg.kappa_teacher).mean())
    d1 = float(_ird_core(z_new, z_old, cfg.kappa_student, cfg.kappa_teacher).mean())
    return con(z_old), con(z_new), d0, d1


def run_continual(model: ContrastiveNet, train: TensorData, config: ContinualConfig, augment: Augment,
                  device: torch.device | None = None, checkpoint_dir=None, desc: str = "continual",
                  interrupt_after_epochs: int | None = None) -> ContinualResult:
    """Train ``model`` on the task sequence of ``config`` (Co2L's recipe, with ``lambda_t`` by method).

    Each step draws a mini-batch from the current task's samples plus the replay buffer, makes two
    augmented views, and minimises

    .. math:: L_{\\mathrm{con}}(\\text{anchors} = \\text{current task}) + \\lambda_t\\,
              L_{\\mathrm{dis}}(f, f_{t-1})

    ({prf:ref}`def-ccl-asym-supcon`, {prf:ref}`def-ccl-ird`). After each task the buffer is updated
    (class-balanced), the probe set is embedded, and the descent check of
    {prf:ref}`prop-ccl-descent` is recorded.

    Parameters
    ----------
    model : ContrastiveNet
    train : TensorData
        All training data (features ``x`` on any device, labels ``y``).
    config : ContinualConfig
    augment : Augment
        Produces the random views (and, via ``plain``, the evaluation inputs).
    checkpoint_dir : path or None
        With a directory, state is saved every ``config.ckpt_every`` epochs and at each task end, and a
        rerun resumes from it.
    interrupt_after_epochs : int, optional
        Raise :class:`TrainingInterrupted` after this many epochs in this call (after saving), to test
        resuming.

    Raises
    ------
    ValueError
        If the model is not a :class:`ContrastiveNet`, the data are empty or contain NaN/inf, a task class is
        missing from the data, or the checkpoint belongs to another configuration.
    FloatingPointError
        If a loss becomes non-finite.
    """
    if not isinstance(model, ContrastiveNet):
        raise ValueError(f"model must be a ContrastiveNet, got {type(model).__name__}")
    if not isinstance(config, ContinualConfig):
        raise ValueError(f"config must be a ContinualConfig, got {type(config).__name__}")
    if not isinstance(train, TensorData) or len(train) == 0:
        raise ValueError("train must be a non-empty mylib.data.TensorData")
    if torch.is_floating_point(train.x) and not bool(torch.isfinite(train.x).all()):
        raise ValueError("train.x contains NaN or inf")
    device = device or get_device()
    y_all = train.y.cpu().long()
    present = set(torch.unique(y_all).tolist())
    for t, cls in enumerate(config.tasks):
        missing = set(cls) - present
        if missing:
            raise ValueError(f"task {t + 1} classes {sorted(missing)} have no training sample")
    T = len(config.tasks)
    model.to(device)
    x_dev = train.x.to(device)
    y_dev = y_all.to(device)
    amp = config.amp and device.type == "cuda"

    probe = probe_indices(y_all.numpy(), dry_run_cap(config.probe_per_class), seed=config.seed)  # dry run: 2
    task_of_class = {c: t for t, cls in enumerate(config.tasks) for c in cls}
    probe = probe[np.isin(y_all.numpy()[probe], list(task_of_class))]
    probe_tasks = np.array([task_of_class[int(c)] for c in y_all.numpy()[probe]])
    probe_x = train.x[torch.as_tensor(probe)]

    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    buffer = ClassBalancedBuffer(config.buffer_size)
    rec: dict[str, Any] = {"lambdas": [], "con_avg": [], "dis_avg": [], "embeddings": [], "descent": []}
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
        task_idx = torch.nonzero(torch.isin(y_all, cls)).flatten()
        pool = torch.cat([task_idx, buffer.indices])
        # lambda_t
        if t == 0 or config.method == "replay":
            lam = 0.0
        elif config.method == "co2l":
            lam = config.lam
        else:
            lam = float(cila_lambdas(np.r_[rec["con_avg"], 0.0], np.r_[rec["dis_avg"], 0.0],
                                     config.cila_kappa)[t])
        # teacher = frozen copy of the model at the start of the task
        teacher = None
        if t > 0:
            teacher = copy.deepcopy(model)
            if teacher_state is not None and start_epoch > 0:
                teacher.load_state_dict(teacher_state)
            teacher.eval()
            for p in teacher.parameters():
                p.requires_grad_(False)
        g_eval = torch.Generator().manual_seed(config.seed * 7 + t)
        eval_sel = pool[torch.randperm(pool.numel(), generator=g_eval)[:dry_run_cap(config.pool_eval_size, 8)]]
        if t > 0 and (start_embed is None or start_epoch == 0):
            start_embed = _embed(teacher, train.x[eval_sel], augment, device, amp=amp).cpu()
        epochs = dry_run_cap(config.task_epochs(t))  # a dry run: 2 epochs of 1 step of 4 samples per task
        n = pool.numel()
        bs = dry_run_cap(min(config.batch_size, n), 4)
        steps = dry_run_cap(math.ceil(n / bs), 1)
        warm = config.warmup_epochs * steps
        current = torch.isin(torch.arange(int(y_all.max()) + 1), cls).to(device)
        for e in range(start_epoch if t == start_task else 0, epochs):
            model.train()
            g = _generator(config.seed, t, e)
            perm = torch.randperm(n, generator=g)
            acc_con = torch.zeros((), device=device, dtype=torch.float64)
            acc_dis = torch.zeros((), device=device, dtype=torch.float64)
            for b in range(steps):
                lr = _lr(e * steps + b, epochs * steps, warm, config.lr)
                for group in opt.param_groups:
                    group["lr"] = lr
                idx = pool[perm[b * bs:(b + 1) * bs]].to(device)
                x, y = x_dev[idx], y_dev[idx]
                xx = torch.cat([augment(x, g), augment(x, g)])
                yy = torch.cat([y, y])
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                    z = model(xx)
                loss_vec, valid = _supcon_core(z, yy, config.tau)
                anchors = (current[yy] & valid).float()
                l_con = (loss_vec * anchors).sum() / anchors.sum().clamp(min=1.0)
                loss = l_con
                if teacher is not None:
                    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                        zt = teacher(xx)
                    l_dis = _ird_core(z, zt.float(), config.kappa_student, config.kappa_teacher).mean()
                    if lam > 0:
                        loss = loss + lam * l_dis
                    acc_dis += l_dis.detach().double() * len(idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                acc_con += l_con.detach().double() * len(idx)
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
        rec["embeddings"].append(_embed(model, probe_x, augment, device, amp=amp).cpu().double().numpy())
        if t > 0:
            end_embed = _embed(model, train.x[eval_sel], augment, device, amp=amp).cpu()
            cur = torch.isin(y_all[eval_sel], cls)
            c0, c1, d0, d1 = _pool_losses(end_embed.double(), start_embed.double(), y_all[eval_sel], cur, config)
            rec["descent"].append({"task": t + 1, "con_start": c0, "con_end": c1, "dis_start": d0, "dis_end": d1,
                                   "lam": lam, **descent_check(c0, c1, d0, d1, lam)})
        buffer.update(task_idx, y_all[task_idx], generator=torch.Generator().manual_seed(config.seed * 31 + t))
        teacher_state, start_embed, start_epoch = None, None, 0
        save(t + 1, 0, None, None)
        if interrupt_after_epochs is not None and epochs_run >= interrupt_after_epochs and t + 1 < T:
            bar.close()
            raise TrainingInterrupted(f"stopped after {epochs_run} epochs (end of task {t + 1})")
    bar.close()
    model.eval()
    return ContinualResult(lambdas=np.array(rec["lambdas"]), con_avg=np.array(rec["con_avg"]),
                           dis_avg=np.array(rec["dis_avg"]), probe_embeddings=rec["embeddings"],
                           probe_labels=y_all.numpy()[probe], probe_tasks=probe_tasks, descent=rec["descent"],
                           buffer_indices=buffer.indices.numpy(), buffer_labels=buffer.labels.numpy(),
                           model=model)


# --------------------------------------------------------------------------- linear probe
def linear_probe(model: ContrastiveNet, train: TensorData, test: TensorData, tasks: Sequence[Sequence[int]],
                 train_indices: Any, augment: Augment, device: torch.device | None = None, epochs: int = 100,
                 lr: float = 0.1, batch_size: int = 256, seed: int = 0, probe_augment: bool = False,
                 amp: bool = False) -> dict[str, Any]:
    """Linear classifier on frozen encoder features; Class-IL and Task-IL test accuracy.

    The classifier is trained on ``train[train_indices]`` (Co2L: the last task's data and the
    buffer) with class-balanced cross-entropy (weights ``1 / class count``) by SGD (momentum 0.9,
    cosine schedule). With ``probe_augment`` the features are recomputed on fresh augmented views
    every epoch (Co2L's protocol); otherwise they are computed once on the plain inputs.

    Returns
    -------
    dict with ``class_il`` and ``task_il`` (percent, over all test samples of the tasks' classes),
    ``class_il_per_task`` and ``task_il_per_task`` (lists, percent).
    """
    device = device or get_device()
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_nonnegative(lr, "lr")
    classes = sorted(c for t in tasks for c in t)
    C = max(classes) + 1
    idx = torch.as_tensor(np.asarray(train_indices)).long()
    if idx.numel() == 0:
        raise ValueError("train_indices is empty")
    ytr = train.y[idx].to(device)
    counts = torch.bincount(ytr, minlength=C).float()
    present = counts > 0
    weight = torch.where(present, counts.sum() / (counts.clamp(min=1) * present.sum()), torch.zeros_like(counts))
    model.eval()
    xtr = train.x[idx]
    feats = None if probe_augment else _embed(model, xtr, augment, device, features=True, amp=amp)
    clf = nn.Linear(model.feature_dim, C)
    with torch.no_grad():
        clf.weight.normal_(0, 0.01, generator=torch.Generator().manual_seed(int(seed) + 12345))
        clf.bias.zero_()
    clf.to(device)
    opt = torch.optim.SGD(clf.parameters(), lr=lr, momentum=0.9)
    n = idx.numel()
    bs = min(batch_size, n)
    steps = dry_run_cap(math.ceil(n / bs), 1)  # a dry run: 2 epochs of 1 step
    for e in range(dry_run_cap(epochs)):
        ge = torch.Generator().manual_seed(int(seed) * 1_000_003 + e + 99)
        if probe_augment:
            with torch.no_grad():
                was = model.training
                model.eval()
                fs = []
                for i in range(0, n, 1024):
                    xb = augment(xtr[i:i + 1024].to(device), ge)
                    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
                        fs.append(model.features(xb).float())
                feats = torch.cat(fs)
                model.train(was)
        perm = torch.randperm(n, generator=ge).to(device)
        for b in range(steps):
            for group in opt.param_groups:
                group["lr"] = cosine_lr(e * steps + b, epochs * steps, lr)
            sel = perm[b * bs:(b + 1) * bs]
            loss = F.cross_entropy(clf(feats[sel]), ytr[sel], weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    te_mask = torch.isin(test.y, torch.tensor(classes))
    xte, yte = test.x[te_mask], test.y[te_mask].to(device)
    with torch.no_grad():
        logits = clf(_embed(model, xte, augment, device, features=True, amp=amp))
    mask_all = torch.full((C,), float("-inf"), device=device)
    mask_all[classes] = 0
    pred_c = (logits + mask_all).argmax(1)
    task_of = {c: i for i, t in enumerate(tasks) for c in t}
    task_mask = torch.full((len(tasks), C), float("-inf"), device=device)
    for k, t in enumerate(tasks):
        task_mask[k, list(t)] = 0
    tt = torch.tensor([task_of[c] for c in yte.tolist()], device=device)
    pred_t = (logits + task_mask[tt]).argmax(1)
    cil = [(pred_c[tt == k] == yte[tt == k]).float().mean().item() * 100 for k in range(len(tasks))]
    til = [(pred_t[tt == k] == yte[tt == k]).float().mean().item() * 100 for k in range(len(tasks))]
    return {"class_il": (pred_c == yte).float().mean().item() * 100,
            "task_il": (pred_t == yte).float().mean().item() * 100,
            "class_il_per_task": cil, "task_il_per_task": til}


def evaluate_run(result: ContinualResult, train: TensorData, test: TensorData, config: ContinualConfig,
                 augment: Augment, device: torch.device | None = None, probe_epochs: int = 100,
                 probe_lr: float = 0.1, probe_batch_size: int = 256, probe_augment: bool = False) -> dict[str, Any]:
    """Linear probe (last task + buffer) and both sides of {prf:ref}`thm-ccl-bound` for one run."""
    last = torch.nonzero(torch.isin(train.y.cpu(), torch.tensor(config.tasks[-1]))).flatten().numpy()
    probe_train = np.concatenate([last, result.buffer_indices])
    acc = linear_probe(result.model, train, test, config.tasks, probe_train, augment, device=device,
                       epochs=probe_epochs, lr=probe_lr, batch_size=probe_batch_size, seed=config.seed,
                       probe_augment=probe_augment, amp=config.amp)
    terms = bound_terms(result.probe_embeddings, result.probe_labels, result.probe_tasks, tau=config.tau,
                        kappa=config.kappa_student, kappa_star=config.kappa_teacher)
    return {**acc, "bound": continual_bound(terms), "terms": terms}


def run_grid(train: TensorData, test: TensorData, model_fn: Callable[[], ContrastiveNet], base: ContinualConfig,
             variants: dict[str, dict[str, Any]], seeds: Sequence[int], augment: Augment,
             device: torch.device | None = None, probe_epochs: int = 100, probe_lr: float = 0.1,
             probe_batch_size: int = 256, probe_augment: bool = False,
             checkpoint_dir_fn: Callable[[str, int, dict], Any] | None = None) -> list[dict[str, Any]]:
    """Train and evaluate every ``variant`` (overrides of ``base``) for every seed.

    ``model_fn()`` builds a fresh model (called after :func:`mylib.seed_everything` ``(seed)``).
    ``checkpoint_dir_fn(name, seed, config_dict)`` may return a folder (e.g. from :func:`mylib.run_dir`)
    so each run resumes after an interruption.

    Returns
    -------
    list of dict, one per (variant, seed): ``name``, ``seed``, ``class_il``, ``task_il``, per-task
    accuracies, ``lambdas``, ``con_avg``, ``dis_avg``, the bound's dictionary (``bound``), the
    :class:`~mylib.contrastive.BoundTerms` (``terms``), the descent records, the config and the probe-set
    representations (``probe_embeddings``, ``probe_labels``, ``probe_tasks``) for re-evaluating the bound.
    """
    from dataclasses import replace


    if not variants:
        raise ValueError("variants is empty")
    if len(seeds) == 0:
        raise ValueError("seeds is empty")
    records = []
    for name, overrides in variants.items():
        for seed in seeds:
            cfg = replace(base, seed=int(seed), **overrides)
            seed_everything(int(seed))
            model = model_fn()
            ckdir = checkpoint_dir_fn(name, int(seed), cfg.as_dict()) if checkpoint_dir_fn else None
            res = run_continual(model, train, cfg, augment, device=device, checkpoint_dir=ckdir,
                                desc=f"{name} seed {seed}")
            ev = evaluate_run(res, train, test, cfg, augment, device=device, probe_epochs=probe_epochs,
                              probe_lr=probe_lr, probe_batch_size=probe_batch_size, probe_augment=probe_augment)
            records.append({"name": name, "seed": int(seed), "class_il": ev["class_il"], "task_il": ev["task_il"],
                            "class_il_per_task": ev["class_il_per_task"], "task_il_per_task": ev["task_il_per_task"],
                            "lambdas": res.lambdas, "con_avg": res.con_avg, "dis_avg": res.dis_avg,
                            "bound": ev["bound"], "terms": ev["terms"], "descent": res.descent, "config": cfg,
                            "probe_embeddings": res.probe_embeddings, "probe_labels": res.probe_labels,
                            "probe_tasks": res.probe_tasks})
    return records
