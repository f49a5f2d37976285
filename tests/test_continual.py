"""Tests of Part II's training side: Co2L's exact objective, the continual trainer, the linear probe and the
encoders (mylib.contrastive.co2l, mylib.contrastive.continual, mylib.nn)."""
import math

import numpy as np
import pytest
import torch

import mylib
from mylib.contrastive import co2l
from mylib.contrastive import losses as cc


# --------------------------------------------------------------------------- Co2L's objective
def _unit(rng, n, d):
    z = rng.normal(size=(n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _co2l_reference(z, labels, anchors, zt, w, tau=0.5, tau_b=0.07, ks=0.2, kt=0.01):
    """Co2L's objective by explicit loops over rows, from the formulas of the issue:
    (tau / tau_b) * (1 / M) * sum_{i in A} l_i  +  w * (1 / M) * sum_i CE_i."""
    M = len(z)
    con = 0.0
    for i in range(M):
        if not anchors[i]:
            continue
        others = [k for k in range(M) if k != i]
        log_den = math.log(sum(math.exp(z[i] @ z[k] / tau) for k in others))
        pos = [p for p in others if labels[p] == labels[i]]
        if pos:
            con += -sum(z[i] @ z[p] / tau - log_den for p in pos) / len(pos)
    total = (tau / tau_b) * con / M
    if zt is not None:
        dis = 0.0
        for i in range(M):
            others = [k for k in range(M) if k != i]
            s_t = np.array([zt[i] @ zt[k] / kt for k in others])
            pi = np.exp(s_t - s_t.max())
            pi /= pi.sum()
            s_s = np.array([z[i] @ z[k] / ks for k in others])
            logq = s_s - s_s.max() - math.log(np.exp(s_s - s_s.max()).sum())
            dis += -(pi * logq).sum()
        total += w * dis / M
    return total


def _co2l_code_layout(f_views, labels_n, current_classes, f_teacher, w, tau=0.5, tau_b=0.07, ks=0.2, kt=0.01):
    """The same objective organised as Co2L's code organises it: features (N, 2, d) unbound view by view into
    2N rows, a label-equality mask tiled 2x2 with the diagonal removed, every row an anchor, its loss scaled by
    tau / tau_b, multiplied by a current-class indicator and averaged over all 2N rows; the distillation is the
    cross-entropy of the teacher's softmax at kt against the student's at ks over the off-diagonal entries of
    each row, averaged over all 2N rows."""
    N = f_views.shape[0]
    F_ = np.concatenate([f_views[:, 0], f_views[:, 1]])
    S = F_ @ F_.T / tau
    S = S - S.max(1, keepdims=True)
    off = 1 - np.eye(2 * N)
    mask = np.tile((labels_n[:, None] == labels_n[None, :]).astype(float), (2, 2)) * off
    log_prob = S - np.log((np.exp(S) * off).sum(1, keepdims=True))
    per_row = -(tau / tau_b) * (mask * log_prob).sum(1) / mask.sum(1)
    cur = np.isin(labels_n, current_classes).astype(float)
    loss = (per_row.reshape(2, N) * cur).mean()
    if f_teacher is not None:
        T_ = np.concatenate([f_teacher[:, 0], f_teacher[:, 1]])
        def soft(A, temp):
            L = A @ A.T / temp
            L = L - (L * off).max(1, keepdims=True)
            E = np.exp(L)[off.astype(bool)].reshape(2 * N, -1)
            return E / E.sum(1, keepdims=True)
        loss += w * (-soft(T_, kt) * np.log(soft(F_, ks))).sum(1).mean()
    return loss


@pytest.mark.parametrize("n,buffer_frac,seed", [(8, 0.25, 0), (20, 1 / 3, 1), (33, 0.5, 2), (50, 0.0, 3)])
def test_co2l_loss_matches_formula_and_code_layout(n, buffer_frac, seed):
    rng = np.random.default_rng(seed)
    d = 6
    n_buf = int(round(buffer_frac * n))
    cur = [4, 5]
    lab_n = np.r_[rng.choice(cur, n - n_buf), rng.integers(0, 4, n_buf)]
    views = np.stack([_unit(rng, n, d), _unit(rng, n, d)], axis=1)  # (N, 2, d)
    t_views = np.stack([_unit(rng, n, d), _unit(rng, n, d)], axis=1)
    z = np.concatenate([views[:, 0], views[:, 1]])
    zt = np.concatenate([t_views[:, 0], t_views[:, 1]])
    lab = np.r_[lab_n, lab_n]
    anchors = np.isin(lab, cur)
    for w, teacher in ((0.0, None), (1.0, zt), (0.3, zt)):
        got = mylib.co2l_loss(z, lab, anchors, z_teacher=teacher, distill_weight=w)
        ref = _co2l_reference(z, lab, anchors, teacher, w)
        code = _co2l_code_layout(views, lab_n, cur, None if teacher is None else t_views, w)
        assert got == pytest.approx(ref, rel=1e-12, abs=1e-12)
        assert got == pytest.approx(code, rel=1e-10, abs=1e-12)
    # torch input: the same value, autograd intact, float32 within float32 precision
    zt_t = torch.tensor(z, requires_grad=True)
    out = mylib.co2l_loss(zt_t, torch.as_tensor(lab), torch.as_tensor(anchors), z_teacher=torch.tensor(zt))
    out.backward()
    assert float(out.detach()) == pytest.approx(_co2l_reference(z, lab, anchors, zt, 1.0), rel=1e-12)
    assert torch.isfinite(zt_t.grad).all() and zt_t.grad.abs().sum() > 0


def test_co2l_loss_relation_to_theory_loss():
    """(tau / tau_b) * (|A| / M) * asym_supcon_loss = Co2L's contrastive term (every anchor has a positive); a
    mutation that drops the scale, or averages over anchors instead of all rows, is detected."""
    rng = np.random.default_rng(5)
    z = _unit(rng, 24, 5)
    lab = np.r_[np.arange(12) % 4, np.arange(12) % 4]
    anchors = lab >= 2
    theory = cc.asym_supcon_loss(z, lab, anchors, temperature=0.5)
    got = mylib.co2l_loss(z, lab, anchors)
    assert got == pytest.approx(0.5 / 0.07 * anchors.sum() / 24 * theory, rel=1e-12)
    assert abs(got - theory) > 0.1 and abs(got - 0.5 / 0.07 * theory) > 0.1
    # no anchor: zero contrastive term; teacher equal to the student at kt = ks: distillation = entropy
    assert mylib.co2l_loss(z, lab, np.zeros(24, bool)) == 0.0
    ent = cc.distillation_per_anchor(z, z, 0.2, 0.2).mean()
    assert mylib.co2l_loss(z, lab, np.zeros(24, bool), z, 2.0, teacher_temperature=0.2) == pytest.approx(2 * ent)


@pytest.mark.parametrize("kw,err", [
    (dict(distill_weight=-1.0), ValueError), (dict(distill_weight="1"), TypeError), (dict(temperature=0.0), ValueError),
    (dict(base_temperature=True), TypeError), (dict(student_temperature=-0.2), ValueError),
    (dict(teacher_temperature=float("nan")), ValueError), (dict(distill_weight=float("inf")), ValueError)])
def test_co2l_loss_rejects_bad_arguments(kw, err):
    rng = np.random.default_rng(0)
    z = _unit(rng, 6, 3)
    with pytest.raises(err):
        mylib.co2l_loss(z, [0, 0, 1, 1, 2, 2], [True] * 6, z, **kw)


def test_co2l_loss_rejects_bad_shapes():
    rng = np.random.default_rng(0)
    z = _unit(rng, 6, 3)
    with pytest.raises(ValueError, match="labels"):
        mylib.co2l_loss(z, [0, 1], [True] * 6)
    with pytest.raises(ValueError, match="anchor_mask"):
        mylib.co2l_loss(z, [0] * 6, [True] * 5)
    with pytest.raises(ValueError, match="same number of rows"):
        mylib.co2l_loss(z, [0] * 6, [True] * 6, z[:4])
    with pytest.raises(ValueError, match="NaN|inf|finite"):
        mylib.co2l_loss(np.full((6, 3), np.nan), [0] * 6, [True] * 6)
