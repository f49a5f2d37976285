"""The replay memory of Part II: class-balanced, as in Co2L ({doc}`../book/part2_contrastive_cl`).

While task :math:`t` is trained, the buffer :math:`M_t` holds a class-balanced sample of the earlier tasks' data
({prf:ref}`def-ccl-co2l`); its samples are negatives of the asymmetric loss ({prf:ref}`def-ccl-asym-supcon`) and
anchors of the distillation ({prf:ref}`def-ccl-ird`). How well it stands for the old tasks is measured by the buffer
transfer ratio :math:`\\rho_t` ({prf:ref}`asm-ccl-buffer`, :func:`mylib.contrastive.buffer_rho`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import check_labels, check_not_complex, check_positive_int

__all__ = ["task_classes", "ClassBalancedBuffer"]


def task_classes(num_classes: int, classes_per_task: int) -> list[list[int]]:
    """Split classes ``0..num_classes-1`` into consecutive tasks of ``classes_per_task`` classes.

    The class-incremental task sequence of {prf:ref}`def-ccl-co2l` (Seq-CIFAR-10: 10 classes, 2 per task).

    Parameters
    ----------
    num_classes : int
        Total number of classes, ``>= 1``.
    classes_per_task : int
        Classes per task, ``>= 1``, dividing ``num_classes``.

    Returns
    -------
    list of lists of int
        ``[[0, .., k-1], [k, .., 2k-1], ...]``.

    Raises
    ------
    ValueError
        For non-integer or non-positive arguments, or if ``classes_per_task`` does not divide ``num_classes``.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    k = check_positive_int(classes_per_task, "classes_per_task")
    if num_classes % k:
        raise ValueError(f"num_classes={num_classes} is not a multiple of classes_per_task={k}")
    return [list(range(i, i + k)) for i in range(0, num_classes, k)]


def _indices(indices: Any) -> torch.Tensor:
    check_not_complex(indices, "indices")
    t = indices.detach() if isinstance(indices, torch.Tensor) else torch.from_numpy(np.asarray(indices))
    if t.dtype == torch.bool or t.is_floating_point():
        raise TypeError(f"indices must be integer sample indices, got dtype {t.dtype}")
    t = t.long().flatten().cpu()
    if t.numel() and int(t.min()) < 0:
        raise ValueError("indices must be >= 0")
    return t


class ClassBalancedBuffer:
    """Replay memory of ``capacity`` sample indices shared equally by all classes seen so far.

    After each task, :meth:`update` gives every seen class ``capacity // C`` slots (the remainder goes to randomly
    chosen classes), shrinking old classes by random subsampling of their stored samples and filling new classes
    from the task's data, as in Co2L's replay policy ({prf:ref}`def-ccl-co2l`). Only indices and labels are stored
    (the data stay in one tensor).

    Parameters
    ----------
    capacity : int
        Number of samples kept, ``>= 0``.

    Attributes
    ----------
    indices, labels : 1-D int64 tensors
        The stored sample indices and their labels.

    Raises
    ------
    ValueError
        If ``capacity`` is not a non-negative integer.
    """

    def __init__(self, capacity: int):
        self.capacity = check_positive_int(capacity, "capacity", minimum=0)
        self.indices = torch.zeros(0, dtype=torch.long)
        self.labels = torch.zeros(0, dtype=torch.long)

    def __len__(self) -> int:
        return int(self.indices.numel())

    def class_counts(self) -> dict[int, int]:
        """Number of stored samples per class.

        Returns
        -------
        dict
            ``{class: count}`` over the stored classes.
        """
        u, c = torch.unique(self.labels, return_counts=True)
        return {int(a): int(b) for a, b in zip(u, c)}

    def update(self, indices: Any, labels: Any, generator: torch.Generator | None = None) -> None:
        """Add the samples of a finished task and rebalance.

        Parameters
        ----------
        indices : 1-D integer array or tensor
            Indices into the dataset of the task's samples (at least one).
        labels : 1-D integer array or tensor
            Their class labels (same length).
        generator : torch.Generator, optional
            The random stream of the subsampling (default: a fresh generator seeded with 0).

        Raises
        ------
        TypeError
            For non-integer (float, boolean, complex) indices or labels.
        ValueError
            For negative indices or labels, mismatched lengths, or no sample.
        """
        idx = _indices(indices)
        lab = check_labels(labels, idx.numel(), "labels", torch.device("cpu"))
        if idx.numel() == 0:
            raise ValueError("update() needs at least one sample")
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        all_lab = torch.cat([self.labels, lab])
        classes = torch.unique(all_lab).tolist()
        pools = {}
        for c in classes:
            old = self.indices[self.labels == c]
            pools[c] = old if old.numel() > 0 else idx[lab == c]
        # equal shares, then the remainder one by one to randomly ordered classes that still have samples
        quota = {c: min(self.capacity // len(classes), pools[c].numel()) for c in classes}
        order = [classes[i] for i in torch.randperm(len(classes), generator=g).tolist()]
        left = self.capacity - sum(quota.values())
        while left > 0:
            grown = False
            for c in order:
                if left > 0 and quota[c] < pools[c].numel():
                    quota[c] += 1
                    left -= 1
                    grown = True
            if not grown:
                break
        keep_i, keep_l = [], []
        for c in classes:
            pool = pools[c]
            chosen = pool[torch.randperm(pool.numel(), generator=g)[:quota[c]]]
            keep_i.append(chosen)
            keep_l.append(torch.full((chosen.numel(),), c, dtype=torch.long))
        self.indices = torch.cat(keep_i) if keep_i else self.indices
        self.labels = torch.cat(keep_l) if keep_l else self.labels

    def state_dict(self) -> dict[str, Any]:
        """The buffer's state (capacity, indices, labels) for checkpoints.

        Returns
        -------
        dict
            Copies of the stored tensors.
        """
        return {"capacity": self.capacity, "indices": self.indices.clone(), "labels": self.labels.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state written by :meth:`state_dict`.

        Parameters
        ----------
        state : dict
            With keys ``capacity``, ``indices`` and ``labels``.

        Raises
        ------
        ValueError
            If a key is missing.
        """
        missing = {"capacity", "indices", "labels"} - set(state)
        if missing:
            raise ValueError(f"state is missing {sorted(missing)}")
        self.capacity = int(state["capacity"])
        self.indices = state["indices"].clone()
        self.labels = state["labels"].clone()
