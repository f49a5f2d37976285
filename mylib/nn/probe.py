"""The linear probe: a linear classifier on frozen encoder features, and the embedding loop it uses.

Co2L's protocol (``main_linear_buffer.py`` of github.com/chaht01/Co2L) is the default: SGD with momentum 0.9, a
step decay of the learning rate by 0.2 after 60 %, 75 % and 90 % of the epochs (epochs 60, 75 and 90 of 100), and a
class-balanced sampler (each epoch draws ``n`` samples with replacement, with probability proportional to
1 / the size of the sample's class). The alternatives (``schedule="cosine"``, ``balance="loss"``: a cross-entropy
weighted by 1 / class size over a shuffled epoch) are options.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import seeds
from .._checks import check_nonnegative, check_positive_int
from ..data import TensorData
from ..runtime import cosine_lr, dry_run_cap, get_device

__all__ = ["batched_outputs", "embed", "linear_probe", "probe_lr", "PROBE_SCHEDULES", "PROBE_BALANCES"]

PROBE_SCHEDULES = ("step", "cosine")
PROBE_BALANCES = ("sampler", "loss")
_MILESTONES = (0.6, 0.75, 0.9)


@torch.no_grad()
def batched_outputs(model: nn.Module, x: torch.Tensor, fn: Callable[[nn.Module, torch.Tensor], tuple],
                    transform: Callable[[torch.Tensor], torch.Tensor] | None, device: torch.device,
                    batch: int = 1024, amp: bool = False, channels_last: bool = False) -> list[torch.Tensor]:
    """The one evaluation loop of the stack: ``fn(model, transform(x_batch))`` over batches in eval mode.

    Parameters
    ----------
    model : nn.Module
        Its train/eval mode is restored afterwards.
    x : tensor
        Inputs on any device (moved batch by batch).
    fn : callable
        ``fn(model, xb)`` returning a tuple of tensors with the batch as first dimension.
    transform : callable or None
        Deterministic input transform.
    device : torch.device
    batch : int
    amp : bool
        bf16 autocast on CUDA.
    channels_last : bool
        Channels-last memory format for 4-D inputs on CUDA.

    Returns
    -------
    list of float32 tensors on ``device``, one per output of ``fn``, concatenated over batches.
    """
    was = model.training
    model.eval()
    outs: list[list[torch.Tensor]] = []
    for i in range(0, x.shape[0], batch):
        xb = x[i:i + batch].to(device, non_blocking=True)
        if transform is not None:
            xb = transform(xb)
        if channels_last and xb.ndim == 4 and device.type == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
            res = fn(model, xb)
        if not outs:
            outs = [[] for _ in res]
        for acc, r in zip(outs, res):
            acc.append(r.float())
    model.train(was)
    return [torch.cat(o) for o in outs]


def embed(model: nn.Module, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor],
          device: torch.device, batch: int = 1024, features: bool = False, amp: bool = False) -> torch.Tensor:
    """Eval-mode outputs of ``model`` on ``transform(x)`` in batches (float32, on ``device``;
    :func:`batched_outputs`).

    Parameters
    ----------
    model : nn.Module
        With ``features(x)`` when ``features=True``.
    x : tensor
    transform : callable
        Deterministic input transform (e.g. ``augment.plain``).
    device : torch.device
    batch : int
    features : bool
        Encoder features instead of the model's output.
    amp : bool
        bf16 autocast on CUDA.

    Returns
    -------
    (n, k) float32 tensor.
    """
    fn = (lambda m, xb: (m.features(xb),)) if features else (lambda m, xb: (m(xb),))
    return batched_outputs(model, x, fn, transform, device, batch, amp)[0]


def probe_lr(epoch: int, step: int, steps: int, epochs: int, lr: float, schedule: str) -> float:
    """Learning rate of the probe at 0-based ``epoch`` and ``step`` of ``steps`` per epoch.

    ``"step"``: :math:`\\eta\\,0.2^{k}` with :math:`k` the number of milestones
    :math:`\\lceil 0.6 E\\rceil, \\lceil 0.75 E\\rceil, \\lceil 0.9 E\\rceil` below ``epoch + 1`` (Co2L: 60, 75, 90
    of :math:`E = 100`); ``"cosine"``: :func:`mylib.runtime.cosine_lr` over all steps.

    Parameters
    ----------
    epoch, step : int
        0-based epoch and step within it.
    steps : int
        Steps per epoch.
    epochs : int
        :math:`E`.
    lr : float
        :math:`\\eta`.
    schedule : {"step", "cosine"}

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unknown schedule.
    """
    if schedule == "step":
        k = sum(epoch + 1 > math.ceil(f * epochs) for f in _MILESTONES)
        return lr * 0.2 ** k
    if schedule == "cosine":
        return cosine_lr(epoch * steps + step, epochs * steps, lr)
    raise ValueError(f"unknown schedule {schedule!r}; valid: {PROBE_SCHEDULES}")


def linear_probe(model: nn.Module, train: TensorData, test: TensorData, tasks: Sequence[Sequence[int]],
                 train_indices: Any, augment: Any, device: torch.device | None = None, epochs: int = 100,
                 lr: float = 0.1, batch_size: int = 256, seed: int = 0, probe_augment: bool = False,
                 amp: bool = False, schedule: str = "step", balance: str = "sampler",
                 test_tasks: Sequence[int] | None = None, test_task_of: Any = None) -> dict[str, Any]:
    """Linear classifier on frozen encoder features; Class-IL and Task-IL test accuracy.

    The classifier is trained on ``train[train_indices]`` (Co2L: the last task's data and the buffer) by SGD
    (momentum 0.9), class-balanced as ``balance`` says, with the learning rate of :func:`probe_lr`. With
    ``probe_augment`` the features are recomputed on fresh augmented views every epoch (Co2L's protocol);
    otherwise once on the plain inputs. Random streams: :func:`mylib.seeds.torch_generator` ``("probe-init",
    seed)`` and ``("probe-epoch", seed, epoch)``.

    Parameters
    ----------
    model : nn.Module
        With ``features(x)`` and an integer ``feature_dim``.
    train, test : TensorData
    tasks : sequence of class lists
        All tasks of the sequence (defines Task-IL's masks).
    train_indices : array of int
        Training samples of the probe.
    augment : object
        ``augment.plain(x)`` (evaluation inputs) and ``augment(x, generator)`` (a random view).
    device, epochs, lr, batch_size, seed, probe_augment, amp :
        As named.
    schedule : {"step", "cosine"}
    balance : {"sampler", "loss"}
    test_tasks : sequence of int, optional
        Evaluate on these tasks' classes only, with Class-IL among their classes (default: all tasks).
    test_task_of : array of int, optional
        The task of every test sample, for domain-incremental sequences whose tasks share their classes (then
        Task-IL equals Class-IL); by default a sample's task is its class's.

    Returns
    -------
    dict
        ``class_il`` and ``task_il`` (percent, over all test samples of the evaluated tasks' classes),
        ``class_il_per_task`` and ``task_il_per_task`` (lists over the evaluated tasks, percent).

    Raises
    ------
    ValueError
        For empty ``train_indices``, an unknown schedule or balance, or a non-positive size.
    """
    device = device or get_device()
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_nonnegative(lr, "lr")
    if schedule not in PROBE_SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; valid: {PROBE_SCHEDULES}")
    if balance not in PROBE_BALANCES:
        raise ValueError(f"unknown balance {balance!r}; valid: {PROBE_BALANCES}")
    eval_tasks = list(range(len(tasks))) if test_tasks is None else [int(k) for k in test_tasks]
    classes = sorted(c for k in eval_tasks for c in tasks[k])
    C = max(c for t in tasks for c in t) + 1
    idx = torch.as_tensor(np.asarray(train_indices)).long()
    if idx.numel() == 0:
        raise ValueError("train_indices is empty")
    idx = idx[:dry_run_cap(idx.numel(), 8)]  # a dry run embeds a few training samples, not all, for its 2 steps
    ytr = train.y[idx].to(device)
    counts = torch.bincount(ytr, minlength=C).double()
    inv = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    weight = None
    if balance == "loss":
        weight = (inv * counts.sum() / (counts > 0).sum()).float()
    sample_p = inv[ytr].cpu()
    model.eval()
    xtr = train.x[idx]
    feats = None if probe_augment else embed(model, xtr, augment.plain, device, features=True, amp=amp)
    clf = nn.Linear(model.feature_dim, C)
    with torch.no_grad():
        clf.weight.normal_(0, 0.01, generator=seeds.torch_generator("probe-init", seed))
        clf.bias.zero_()
    clf.to(device)
    opt = torch.optim.SGD(clf.parameters(), lr=lr, momentum=0.9)
    n = idx.numel()
    bs = min(batch_size, n)
    steps = dry_run_cap(math.ceil(n / bs), 1)  # a dry run: 2 epochs of 1 step
    for e in range(dry_run_cap(epochs)):
        ge = seeds.torch_generator("probe-epoch", seed, e)
        if probe_augment:
            fs = [embed(model, augment(xtr[i:i + 1024].to(device), ge), lambda v: v, device, features=True, amp=amp)
                  for i in range(0, n, 1024)]
            feats = torch.cat(fs)
        if balance == "sampler":
            order = torch.multinomial(sample_p, n, replacement=True, generator=ge).to(device)
        else:
            order = torch.randperm(n, generator=ge).to(device)
        for b in range(steps):
            for group in opt.param_groups:
                group["lr"] = probe_lr(e, b, steps, epochs, lr, schedule)
            sel = order[b * bs:(b + 1) * bs]
            loss = F.cross_entropy(clf(feats[sel]), ytr[sel], weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    te_mask = torch.isin(test.y.cpu(), torch.tensor(classes))
    groups = None
    if test_task_of is not None:
        groups = torch.as_tensor(np.asarray(test_task_of)).long().flatten()
        if groups.shape[0] != len(test):
            raise ValueError(f"test_task_of has {groups.shape[0]} entries for {len(test)} test samples")
        te_mask &= torch.isin(groups, torch.tensor(eval_tasks))
    xte, yte = test.x[te_mask.to(test.x.device)], test.y.cpu()[te_mask].to(device)
    with torch.no_grad():
        logits = clf(embed(model, xte, augment.plain, device, features=True, amp=amp))
    mask_all = torch.full((C,), float("-inf"), device=device)
    mask_all[classes] = 0
    pred_c = (logits + mask_all).argmax(1)
    task_of = torch.zeros(C, dtype=torch.long)
    task_mask = torch.full((len(tasks), C), float("-inf"), device=device)
    for k, t in enumerate(tasks):
        task_of[list(t)] = k
        task_mask[k, list(t)] = 0
    tt = task_of.to(device)[yte] if groups is None else groups[te_mask].to(device)
    pred_t = (logits + task_mask[tt]).argmax(1)
    hit_c, hit_t = (pred_c == yte).double().cpu(), (pred_t == yte).double().cpu()
    tt = tt.cpu()
    cil = [float(hit_c[tt == k].mean()) * 100 for k in eval_tasks]
    til = [float(hit_t[tt == k].mean()) * 100 for k in eval_tasks]
    return {"class_il": float(hit_c.mean()) * 100, "task_il": float(hit_t.mean()) * 100,
            "class_il_per_task": cil, "task_il_per_task": til}
