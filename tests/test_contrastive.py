"""Tests of mylib.contrastive and its augmentations in mylib.nn.augment (Part II: Co2L, CILA and the continual bound)."""
import dataclasses
import math

import numpy as np
import pytest
import torch

import mylib
from mylib.contrastive import losses as cc
from mylib.nn import augment as na


def _unit(rng, n, d):
    z = rng.normal(size=(n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _softmax_rows(S):
    S = S - S.max(1, keepdims=True)
    E = np.exp(S)
    return E / E.sum(1, keepdims=True)


def _q(z, i, T):
    """Reference softmax over candidates j != i (dict j -> prob)."""
    s = np.array([z[i] @ z[j] / T for j in range(len(z)) if j != i])
    p = np.exp(s - s.max())
    p /= p.sum()
    cand = [j for j in range(len(z)) if j != i]
    return dict(zip(cand, p))


# --------------------------------------------------------------------------- losses: closed forms
def test_supcon_matches_hand_computation():
    z = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    T = 0.5
    loss, valid = cc.supcon_per_anchor(z, y, T)
    assert valid.all()
    for i in range(4):
        q = _q(z, i, T)
        pos = [j for j in range(4) if j != i and y[j] == y[i]]
        ref = -np.mean([math.log(q[p]) for p in pos])
        assert loss[i] == pytest.approx(ref, rel=1e-12)
    # anchor 0 by hand: candidates s = 0.6, 0, -1
    ref0 = -math.log(math.exp(1.2) / (math.exp(1.2) + 1 + math.exp(-2)))
    assert loss[0] == pytest.approx(ref0, rel=1e-12)


def test_supcon_scale_invariance_and_bounds():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, 30)
    a, _ = cc.supcon_per_anchor(z, y, 0.3)
    b, _ = cc.supcon_per_anchor(z * rng.uniform(0.1, 10, size=(30, 1)), y, 0.3)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    # log|P| <= loss <= 2/T + log n  (Jensen; unit sphere)
    npos = np.array([(y == y[i]).sum() - 1 for i in range(30)])
    assert np.all(a >= np.log(npos) - 1e-12)
    assert np.all(a <= cc.max_contrastive_loss(29, 0.3) + 1e-12)


def test_asym_supcon_anchor_mask_and_negatives():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(12, 4))
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5])
    loss, valid = cc.supcon_per_anchor(z, y, 0.5)
    mask = y <= 1
    assert cc.asym_supcon_loss(z, y, mask, 0.5) == pytest.approx(loss[mask].mean())
    # anchors 10, 11 have no positive: excluded even when selected
    assert not valid[10] and not valid[11]
    assert cc.asym_supcon_loss(z, y, None, 0.5) == pytest.approx(loss[valid].mean())
    # an extra buffer sample (another class) only adds a term to the denominators: loss increases
    z2 = np.vstack([z, rng.normal(size=(1, 4))])
    y2 = np.r_[y, 9]
    assert cc.asym_supcon_loss(z2, y2, np.r_[mask, False], 0.5) > cc.asym_supcon_loss(z, y, mask, 0.5)
    # no valid anchor -> 0
    assert cc.asym_supcon_loss(z, y, y == 4, 0.5) == 0.0


def test_losses_torch_autograd_and_numpy_types():
    rng = np.random.default_rng(2)
    z = torch.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    out = cc.asym_supcon_loss(z, y) + cc.relation_distillation_loss(z, z.detach() + 0.1)
    assert isinstance(out, torch.Tensor) and out.ndim == 0
    out.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert isinstance(cc.asym_supcon_loss(z.detach().numpy(), y.numpy()), float)
    # teacher gets no gradient
    zt = torch.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    cc.relation_distillation_loss(z, zt).backward()
    assert zt.grad is None


def test_distillation_closed_form_and_gibbs():
    rng = np.random.default_rng(3)
    zs, zt = _unit(rng, 7, 3), _unit(rng, 7, 3)
    ce = cc.distillation_per_anchor(zs, zt, 0.2, 0.05)
    for i in range(7):
        pi, q = _q(zt, i, 0.05), _q(zs, i, 0.2)
        assert ce[i] == pytest.approx(-sum(pi[j] * math.log(q[j]) for j in pi), rel=1e-10)
    # CE(pi, q) >= H(pi), with equality when the student equals the teacher at the same temperature
    same = cc.distillation_per_anchor(zt, zt, 0.05, 0.05)
    ent = np.array([-sum(p * math.log(p) for p in _q(zt, i, 0.05).values()) for i in range(7)])
    np.testing.assert_allclose(same, ent, rtol=1e-9)
    assert np.all(cc.distillation_per_anchor(zs, zt, 0.05, 0.05) >= ent - 1e-12)


# --------------------------------------------------------------------------- the inequalities of the chapter
def test_one_negative_equal_temperature_inequality_every_sample():
    """lem-ccl-transfer, special case: l(new) <= exp(l(old)) * CE(old -> new) for every random sample."""
    rng = np.random.default_rng(4)
    tight = []
    for _ in range(600):
        T = rng.uniform(0.05, 2.0)
        d = int(rng.integers(2, 6))
        z_old, z_new = _unit(rng, 3, d), _unit(rng, 3, d)  # anchor 0, positive 1, negative 2
        y = np.array([0, 0, 1])
        l_old = cc.supcon_per_anchor(z_old, y, T)[0][0]
        l_new = cc.supcon_per_anchor(z_new, y, T)[0][0]
        ce = cc.distillation_per_anchor(z_new, z_old, T, T)[0]
        assert l_new <= math.exp(l_old) * ce * (1 + 1e-10) + 1e-12
        tight.append(l_new / ce)
    # the factor exp(l_old) is needed: without it the inequality fails on some samples
    assert max(tight) > 1.0


def test_temperature_convexity_lemma():
    rng = np.random.default_rng(5)
    for _ in range(200):
        z = _unit(rng, 15, 4)
        y = rng.integers(0, 3, 15)
        tau = rng.uniform(0.1, 1.0)
        kappa = tau * rng.uniform(0.05, 1.0)
        lt, v = cc.supcon_per_anchor(z, y, tau)
        lk, _ = cc.supcon_per_anchor(z, y, kappa)
        rhs = (1 - kappa / tau) * math.log(14) + (kappa / tau) * lk
        assert np.all(lt[v] <= rhs[v] + 1e-10)


def test_self_distillation_lemma():
    """CE(pi^{k*}(g), q^k(g)) <= l^tau(g; i) + (k*/k) log n  for kappa <= tau."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        z = _unit(rng, 12, 3)
        y = rng.integers(0, 3, 12)
        tau = rng.uniform(0.2, 1.0)
        kappa = tau * rng.uniform(0.1, 1.0)
        ks = rng.uniform(0.005, 1.0)
        ce = cc.distillation_per_anchor(z, z, kappa, ks)
        lt, v = cc.supcon_per_anchor(z, y, tau)
        assert np.all(ce[v] <= lt[v] + (ks / kappa) * math.log(11) + 1e-10)


def test_consecutive_lemma_per_anchor_random_models():
    rng = np.random.default_rng(7)
    for _ in range(100):
        m, d = 20, 4
        z_old = _unit(rng, m, d)
        z_new = _unit(rng, m, d) if rng.random() < 0.5 else z_old + 0.3 * rng.normal(size=(m, d))
        y = rng.integers(0, 4, m)
        tau, kappa, ks = 0.5, 0.2, float(rng.choice([0.01, 0.1, 0.2]))
        rhs = cc.consecutive_bound_per_anchor(z_new, z_old, y, tau, kappa, ks)
        lhs, v = cc.supcon_per_anchor(z_new, y, tau)
        assert np.all(lhs[v] <= rhs[v] * (1 + 1e-9))


def test_transfer_weights_closed_form():
    rng = np.random.default_rng(8)
    z = _unit(rng, 9, 3)
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3])
    lw, v = cc.transfer_log_weights(z, y, 0.1)
    assert not v[8] and np.isnan(lw[8])
    for i in range(8):
        q = _q(z, i, 0.1)
        pos = [j for j in range(9) if j != i and y[j] == y[i]]
        assert math.exp(lw[i]) == pytest.approx(1 / (len(pos) * min(q[p] for p in pos)), rel=1e-9)
        assert lw[i] >= -1e-12  # omega >= 1


# --------------------------------------------------------------------------- the theorem
def _random_run(rng, T=4, per=6, d=5, step=0.4):
    y = np.repeat(np.arange(2 * T), per)
    task = y // 2
    Z = [_unit(rng, len(y), d) + 2.0 * np.eye(2 * T, d)[y % d]]
    for _ in range(T - 1):
        Z.append(Z[-1] + step * rng.normal(size=Z[-1].shape))
    return Z, y, task


def test_theorem_margins_on_random_runs_and_formula():
    """Margins m = log10 RHS - log10 LHS of every form are >= 0, and small enough here for the check to have power
    (the mutation tests below make the same checks fail)."""
    rng = np.random.default_rng(9)
    smallest = {"theorem": np.inf, "samplewise": np.inf, "lemma": np.inf}
    for trial in range(20):
        Z, y, task = _random_run(rng, T=int(rng.integers(2, 5)))
        for (tau, kappa, ks) in [(0.5, 0.5, 0.5), (1.0, 0.5, 0.2), (0.5, 0.2, 0.2)]:
            terms = cc.bound_terms(Z, y, task, tau, kappa, ks)
            out = cc.continual_bound(terms)
            m = cc.bound_margins(terms)
            assert m["theorem"] == pytest.approx(out["log10_rhs"] - math.log10(out["lhs"]), abs=1e-12)
            assert m["theorem"] >= 0 and m["product"] >= 0 and m["samplewise"] >= 0 and m["lemma"] >= 0
            assert m["product"] <= m["theorem"] + 1e-9
            assert np.nanmin(m["lemma_per_anchor"]) == pytest.approx(m["lemma"])
            assert out["lhs"] <= out["ceiling"]
            assert out["rhs_samplewise"] <= out["ceiling"] + 1e-9
            for k in smallest:
                smallest[k] = min(smallest[k], m[k])
    # not thousands of orders of magnitude: within a factor 10 somewhere for each form
    assert smallest["theorem"] < 1 and smallest["samplewise"] < 1 and smallest["lemma"] < 0.1
    # explicit formula of thm-ccl-bound (moderate alpha, no overflow)
    Z, y, task = _random_run(np.random.default_rng(10), T=3, step=0.05)
    terms = cc.bound_terms(Z, y, task, 0.5, 0.5, 0.5)
    out = cc.continual_bound(terms)
    T, n = 3, terms.n_candidates
    alpha = 10 ** out["log10_alpha"]
    c0, eps = 0.0, math.log(n)
    rhs = 0.0
    for t in range(T):
        inner = terms.phi[t, t] + sum(c0 + alpha * eps + alpha * (terms.dis[t, s] - terms.self_dis[t, s])
                                      for s in range(t))
        rhs += alpha ** (T - 1 - t) * inner
    assert out["rhs"] == pytest.approx(rhs, rel=1e-9)
    assert out["margin_log10"] == pytest.approx(math.log10(rhs / out["lhs"]), abs=1e-9)
    assert out["weights_log10"] == pytest.approx([2 * out["log10_alpha"], out["log10_alpha"], 0.0])


def _unit_rows(a):
    a = np.asarray(a, dtype=float)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _two_task_run(case):
    """Two-task probe sets (anchors 0, 1 of task 0; 2, 3 of task 1) on which a mutated proof must fail."""
    y = np.array([0, 0, 1, 1])
    if case == "unsure_teacher":  # f_1 puts little mass on anchor 0's positive; f_2 pushes the positive away
        Z = [_unit_rows([[1, 0], [0, 1], [1, 0.02], [1, 0.1]]), _unit_rows([[1, 0], [-1, 0], [1, 0.01], [1, -0.01]])]
    else:  # "forgetting": f_1 separates task 0 well, f_2 scrambles it
        Z = [_unit_rows([[1, 0], [1, 1e-3], [-1, 0], [-1, 1e-3]]), _unit_rows([[1, 0], [-1, 0], [0, 1], [0, 1]])]
    return Z, y, y.copy()


def _nan_to(a, v):
    return np.where(np.isnan(a), np.nan, v)


def test_bound_check_fails_when_omega_is_dropped():
    """Mutation omega_i := 1 (drop lem-ccl-transfer's factor): the theorem and the lemma checks must fail."""
    Z, y, task = _two_task_run("unsure_teacher")
    terms = cc.bound_terms(Z, y, task, tau=0.5, kappa=0.2, kappa_star=0.05)
    good = cc.bound_margins(terms)
    assert good["theorem"] > 0 and good["lemma"] > 0 and good["samplewise"] > 0
    pa = dict(terms.per_anchor, log_omega=_nan_to(terms.per_anchor["log_omega"], 0.0))
    bad = cc.bound_margins(dataclasses.replace(terms, log_omega_max=_nan_to(terms.log_omega_max, 0.0), per_anchor=pa))
    assert bad["theorem"] < -0.1 and bad["samplewise"] < -0.1 and bad["lemma"] < -0.5
    out = cc.continual_bound(dataclasses.replace(terms, log_omega_max=_nan_to(terms.log_omega_max, 0.0),
                                                 per_anchor=pa))
    assert not out["holds"] and not out["lemma_holds"] and not out["holds_samplewise"]


def test_bound_check_fails_when_drift_is_minus_eps():
    """Mutation Delta_t^s := -eps (drop lem-ccl-self): the theorem check must fail on a run that forgets."""
    Z, y, task = _two_task_run("forgetting")
    terms = cc.bound_terms(Z, y, task, tau=0.5, kappa=0.5, kappa_star=0.5)
    good = cc.continual_bound(terms)
    assert 0 < good["margin_log10"] < 0.5 and good["holds"]
    eps = good["eps"]
    pa = dict(terms.per_anchor, self_ce=terms.per_anchor["ce"] + eps)
    bad = cc.continual_bound(dataclasses.replace(terms, self_dis=terms.dis + eps, per_anchor=pa))
    assert bad["margin_log10"] < -0.5 and bad["margin_log10_samplewise"] < -0.5 and not bad["holds"]


def test_lemma_margin_in_the_tight_one_negative_case():
    """ex-ccl-one-negative: with one positive, one negative and kappa = kappa*, the lemma's margin tends to 0 as
    q_ip(f) -> 0, so a constant 1% below omega_i = exp(l(g)) already fails."""
    z_old = _unit_rows([[1, 0], [0.6, 0.8], [0.8, -0.6]])
    z_new = _unit_rows([[1, 0], [-1, 1e-4], [1, 1e-4]])  # the positive pushed to the far side
    margins = []
    for k in (0.5, 0.2, 0.1):
        m = cc.consecutive_margin_per_anchor(z_new, z_old, [0, 0, 1], tau=k, kappa=k, kappa_star=k)
        assert np.isnan(m[2]) and m[0] >= 0  # the negative has no positive; the lemma holds
        margins.append(m[0])
        rhs = cc.consecutive_bound_per_anchor(z_new, z_old, [0, 0, 1], tau=k, kappa=k, kappa_star=k)[0]
        lhs = cc.supcon_per_anchor(z_new, [0, 0, 1], k)[0][0]
        assert m[0] == pytest.approx(math.log10(rhs / lhs), abs=1e-12)
    assert margins[0] > margins[1] > margins[2] >= 0  # tighter as q_ip -> 0
    assert margins[2] < 1e-6
    assert margins[2] + math.log10(0.99) < 0  # omega_i * 0.99 would violate the lemma here


def test_buffer_rho_from_logged_drifts():
    Z, y, task = _random_run(np.random.default_rng(13), T=3)
    terms = cc.bound_terms(Z, y, task, 0.5, 0.5, 0.5)
    probe = [float(np.sum(terms.dis[t, :t] - terms.self_dis[t, :t])) for t in range(3)]
    assert probe[1] > 0 and probe[2] > 0
    rho = cc.buffer_rho(terms, [np.nan, 0.5, 0.25])
    assert np.isnan(rho[0])
    assert rho[1] == pytest.approx(probe[1] / 0.5) and rho[2] == pytest.approx(probe[2] / (2 * 0.25))
    # the smallest valid ratio: the defining inequality is an equality, and fails for 0.99 rho
    for t, d in ((1, 0.5), (2, 0.25)):
        assert probe[t] <= rho[t] * t * d * (1 + 1e-12)
        assert probe[t] > 0.99 * rho[t] * t * d
    # pool drift <= 0 while the probe drift is positive: no finite rho (the corollary says nothing)
    assert cc.buffer_rho(terms, [0.0, -0.1, 0.0])[1:].tolist() == [math.inf, math.inf]
    with pytest.raises(ValueError, match="pool_drift"):
        cc.buffer_rho(terms, [0.0, 1.0])
    with pytest.raises(ValueError, match="pool_drift"):
        cc.buffer_rho(terms, [0.0, np.nan, 1.0])
    with pytest.raises(TypeError, match="pool_drift"):
        cc.buffer_rho(terms, np.array([0, 1, 1]) * 1j)
    with pytest.raises(TypeError, match="terms"):
        cc.buffer_rho({"dis": 1}, [0.0, 1.0, 1.0])


def test_gamma_bound_is_implied_by_the_theorem_and_can_fail():
    rng = np.random.default_rng(14)
    for _ in range(10):
        Z, y, task = _random_run(rng, T=3, step=0.1)
        terms = cc.bound_terms(Z, y, task, 0.5, 0.5, 0.5)
        base = cc.continual_bound(terms)
        phi_train = np.diag(terms.phi) * rng.uniform(0.5, 1.5, 3)
        pool_dis = np.r_[np.nan, rng.uniform(0.5, 2.0, 2)]
        pool_drift = np.r_[np.nan, pool_dis[1:] * rng.uniform(0.05, 0.9, 2)]
        lam = np.r_[0.0, rng.uniform(0.5, 5.0, 2)]
        g = cc.gamma_bound(terms, lam, phi_train, pool_dis, pool_drift)
        # each bracket of eq-ccl-bound is bounded above: the gamma form is weaker than the theorem
        assert g["margin_log10"] >= base["margin_log10"] - 1e-9
        assert g["r"] == pytest.approx(np.diag(terms.phi) / phi_train)
        # gamma_t(lambda) grows with lambda up to 1/r_t
        g2 = cc.gamma_bound(terms, lam * 10, phi_train, pool_dis, pool_drift)
        assert np.all(g2["log10_gamma"][1:] >= g["log10_gamma"][1:] - 1e-12)
        assert np.all(g2["log10_gamma"] <= -np.log10(g["r"]) + 1e-12)
    # mutation: dropping the buffer ratio (rho := 0 via zero probe drift claimed) breaks it on a forgetting run
    Z, y, task = _two_task_run("forgetting")
    terms = cc.bound_terms(Z, y, task, 0.5, 0.5, 0.5)
    ok = cc.gamma_bound(terms, [0.0, 1.0], np.diag(terms.phi), [np.nan, 0.1], [np.nan, 0.05])
    assert ok["margin_log10"] >= 0
    fake = dataclasses.replace(terms, self_dis=terms.dis.copy())  # claims Delta = 0: rho = 0
    bad = cc.gamma_bound(fake, [0.0, 1.0], np.diag(terms.phi), [np.nan, 0.1], [np.nan, 0.05])
    assert bad["margin_log10"] < 0
    with pytest.raises(ValueError, match="lambdas"):
        cc.gamma_bound(terms, [0.0, 0.0], np.diag(terms.phi), [np.nan, 0.1], [np.nan, 0.05])
    with pytest.raises(ValueError, match="phi_train"):
        cc.gamma_bound(terms, [0.0, 1.0], [0.0, 1.0], [np.nan, 0.1], [np.nan, 0.05])


def test_gamma_bound_lambda_star_minimises_the_bound_at_fixed_losses():
    """ex-ccl-lambda-star: with the logged losses held fixed, the right side of eq-ccl-gamma-bound is smallest at
    lambda_t = lambda_t^* (checked on a grid; shifting lambda by 10% either way increases it)."""
    Z, y, task = _random_run(np.random.default_rng(18), T=2, step=0.2)
    terms = cc.bound_terms(Z, y, task, 0.5, 0.5, 0.5)
    args = (np.diag(terms.phi) * 0.8, [np.nan, 1.2], [np.nan, 0.3])
    star = cc.gamma_bound(terms, [0.0, 1.0], *args)["lambda_star"][1]
    assert 0 < star < np.inf
    at = cc.gamma_bound(terms, [0.0, star], *args)["log10_rhs"]
    for f in (0.5, 0.9, 1.1, 2.0):
        assert cc.gamma_bound(terms, [0.0, f * star], *args)["log10_rhs"] > at
    grid = star * np.logspace(-1, 1, 41)
    vals = [cc.gamma_bound(terms, [0.0, lam], *args)["log10_rhs"] for lam in grid]
    assert grid[int(np.argmin(vals))] == pytest.approx(star)


def test_theorem_single_task_is_equality():
    rng = np.random.default_rng(11)
    Z, y, task = _random_run(rng, T=1)
    out = cc.continual_bound(cc.bound_terms(Z, y, task))
    assert out["rhs"] == pytest.approx(out["lhs"], rel=1e-12)


def test_bound_terms_validation():
    rng = np.random.default_rng(12)
    Z, y, task = _random_run(rng, T=2)
    with pytest.raises(ValueError, match="kappa <= tau"):
        cc.bound_terms(Z, y, task, tau=0.2, kappa=0.5)
    with pytest.raises(ValueError, match="rows"):
        cc.bound_terms([Z[0], Z[1][:-1]], y, task)
    with pytest.raises(ValueError, match="task_of_anchor"):
        cc.bound_terms(Z, y, task + 5)
    with pytest.raises(ValueError, match="empty"):
        cc.bound_terms([], y, task)
    bad = Z[0].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cc.bound_terms([bad, Z[1]], y, task)
    with pytest.raises(TypeError, match="BoundTerms"):
        cc.continual_bound({"phi": 1})


def test_descent_check():
    d = cc.descent_check(5.0, 4.0, 2.0, 2.5, 1.0)
    assert d["descent"] and d["drift"] == pytest.approx(0.5) and d["drift_bound"] == pytest.approx(1.0)
    assert not cc.descent_check(5.0, 4.9, 2.0, 2.5, 1.0)["descent"]
    assert cc.descent_check(5.0, 4.0, 2.0, 2.5, 0.0)["drift_bound"] == math.inf


# --------------------------------------------------------------------------- CILA
def test_cila_lambdas_hand_example():
    con = [9.0, 2.0, 4.0, 1.0, 3.0]
    dis = [0.0, 3.0, 1.0, 2.0, 5.0]
    lam = cc.cila_lambdas(con, dis, 2.0)
    # t=3: 2*3/2 = 3; t=4: 2*(3+1)/(2+4) = 4/3; t=5: 2*(3+1+2)/(2+4+1) = 12/7
    np.testing.assert_allclose(lam, [0.0, 1.0, 3.0, 4 / 3, 12 / 7])
    assert cc.cila_lambdas(con, dis, 0.1).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]  # floor at 1
    assert cc.cila_lambdas([1.0], [0.0], 1.0).tolist() == [0.0]
    # lambda_t ignores tasks >= t (placeholders during training)
    lam2 = cc.cila_lambdas(con[:3] + [99.0, 0.0], dis[:3] + [0.0, 42.0], 2.0)
    assert lam2[:4].tolist() == pytest.approx(lam[:4].tolist())
    # monotone in kappa
    assert np.all(cc.cila_lambdas(con, dis, 3.0) >= cc.cila_lambdas(con, dis, 2.0))


@pytest.mark.parametrize("con,dis,kappa", [
    ([1.0, -1.0, 2.0], [0.0, 1.0, 1.0], 1.0),
    ([1.0, np.nan, 2.0], [0.0, 1.0, 1.0], 1.0),
    ([1.0, 1.0, 2.0], [0.0, np.inf, 1.0], 1.0),
    ([1.0, 1.0], [0.0, 1.0, 1.0], 1.0),
    ([1.0, 1.0, 2.0], [0.0, 1.0, 1.0], 0.0),
    ([1.0, 1.0, 2.0], [0.0, 1.0, 1.0], -1.0),
    ([1.0, 0.0, 2.0], [0.0, 1.0, 1.0], 1.0),
    ([], [], 1.0),
])
def test_cila_lambdas_errors(con, dis, kappa):
    with pytest.raises(ValueError):
        cc.cila_lambdas(con, dis, kappa)


# --------------------------------------------------------------------------- input validation
@pytest.mark.parametrize("call", [
    lambda: cc.supcon_per_anchor(np.full((4, 2), np.nan), [0, 0, 1, 1]),
    lambda: cc.supcon_per_anchor(np.ones((4, 2)), [0, 0, 1]),
    lambda: cc.supcon_per_anchor(np.ones((4, 2)), [0, 0.5, 1, 1]),
    lambda: cc.supcon_per_anchor(np.ones((4, 2)), [0, 0, 1, 1], temperature=0.0),
    lambda: cc.supcon_per_anchor(np.ones(4), [0, 0, 1, 1]),
    lambda: cc.supcon_per_anchor(np.zeros((4, 2)), [0, 0, 1, 1]),
    lambda: cc.supcon_per_anchor(np.ones((1, 2)), [0]),
    lambda: cc.relation_distillation_loss(np.ones((4, 2)), np.ones((5, 2))),
    lambda: cc.relation_distillation_loss(np.ones((4, 2)), np.ones((4, 2)), teacher_temperature=-1),
    lambda: cc.asym_supcon_loss(np.ones((4, 2)), [0, 0, 1, 1], anchor_mask=[True, False]),
    lambda: cc.consecutive_bound_per_anchor(np.ones((4, 2)), np.ones((4, 2)), [0, 0, 1, 1], tau=0.1, kappa=0.2),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- bad input, one test per family
@pytest.mark.parametrize("kappa", ["2", "2.0", True, False, None, [2.0], np.array([2.0]), 2 + 0j])
def test_cila_kappa_of_the_wrong_type_is_a_type_error(kappa):
    with pytest.raises(TypeError, match="kappa"):
        cc.cila_lambdas([1.0, 1.0, 2.0], [0.0, 1.0, 1.0], kappa)


@pytest.mark.parametrize("kappa", [0.0, -1.0, float("nan"), float("inf")])
def test_cila_kappa_not_positive_says_greater_than_zero(kappa):
    with pytest.raises(ValueError, match=r"kappa must be finite and > 0"):
        cc.cila_lambdas([1.0, 1.0, 2.0], [0.0, 1.0, 1.0], kappa)


@pytest.mark.parametrize("mask", [np.arange(12), np.arange(6), np.full(12, 0.5), np.ones(12), torch.arange(12),
                                  torch.ones(12), [1] * 12])
def test_anchor_mask_as_indices_or_weights_is_refused(mask):
    rng = np.random.default_rng(15)
    z, y = rng.normal(size=(12, 4)), np.repeat(np.arange(4), 3)
    with pytest.raises(TypeError, match="anchor_mask"):
        cc.asym_supcon_loss(z, y, mask)
    with pytest.raises(TypeError, match="anchor_mask"):
        cc.relation_distillation_loss(z, z[::-1].copy(), anchor_mask=mask)
    # booleans in any container are accepted and equal
    b = y <= 1
    ref = cc.asym_supcon_loss(z, y, b)
    assert cc.asym_supcon_loss(z, y, b.tolist()) == ref
    assert cc.asym_supcon_loss(z, y, torch.from_numpy(b)) == ref


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e150, 1e-150])
def test_losses_normalise_by_scaling_first_float64(scale):
    rng = np.random.default_rng(16)
    z, zt, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 4)), np.repeat(np.arange(4), 3)
    ref = cc.asym_supcon_loss(z, y)
    assert cc.asym_supcon_loss(z * scale, y) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(cc.distillation_per_anchor(z * scale, zt / scale),
                               cc.distillation_per_anchor(z, zt), rtol=1e-12)
    np.testing.assert_allclose(cc.transfer_log_weights(zt * scale, y, 0.1)[0], cc.transfer_log_weights(zt, y, 0.1)[0],
                               rtol=1e-12)
    if scale not in (1e200, 1e-200):
        return
    # at these scales the naive normalisation is wrong (this is what the library used to do: 2.398, not 2.353)
    naive = torch.nn.functional.normalize(torch.as_tensor(z * scale), dim=1)
    assert not torch.allclose(naive, torch.nn.functional.normalize(torch.as_tensor(z), dim=1))


@pytest.mark.parametrize("scale", [1e20, 1e-25, 1e30])
def test_losses_normalise_by_scaling_first_float32(scale):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(10, 3, generator=g)
    y = torch.arange(5).repeat_interleave(2)
    ref = cc.asym_supcon_loss(z, y)
    out = cc.asym_supcon_loss(z * scale, y)
    assert torch.isfinite(out) and abs(float(out) - float(ref)) <= 1e-5 * float(ref)


@pytest.mark.parametrize("call,name", [
    (lambda z: cc.supcon_per_anchor(z, [0, 0, 1, 1]), "z"),
    (lambda z: cc.asym_supcon_loss(z, [0, 0, 1, 1]), "z"),
    (lambda z: cc.asym_supcon_loss(torch.as_tensor(z), [0, 0, 1, 1]), "z"),
    (lambda z: cc.distillation_per_anchor(z.real, z), "z_teacher"),
    (lambda z: cc.relation_distillation_loss(z, z.real), "z_student"),
    (lambda z: cc.transfer_log_weights(z, [0, 0, 1, 1]), "z_teacher"),
    (lambda z: cc.consecutive_margin_per_anchor(z, z.real, [0, 0, 1, 1]), "z_new"),
    (lambda z: cc.bound_terms([z.real, z], [0, 0, 1, 1], [0, 0, 1, 1]), r"embeddings\[1\]"),
    (lambda z: cc.supcon_per_anchor(z.real, np.array([0, 0, 1, 1]) + 0j), "labels"),
    (lambda z: cc.asym_supcon_loss(z.real, [0, 0, 1, 1], np.ones(4, dtype=bool) + 0j), "anchor_mask"),
    (lambda z: cc.cila_lambdas(np.array([1.0, 1.0, 2.0]) + 1j, [0.0, 1.0, 1.0], 1.0), "con_avg"),
    (lambda z: cc.supcon_per_anchor(z.real, [0, 0, 1, 1], temperature=0.5 + 0j), "temperature"),
])
def test_complex_input_is_a_type_error_naming_the_argument(call, name):
    z = np.random.default_rng(17).normal(size=(4, 3)) * (1 + 0.5j)
    with pytest.raises(TypeError, match=name):
        call(z)


@pytest.mark.parametrize("labels", [[0, 0, 1, -1], [True, True, False, False], [0, 0.5, 1, 1], [[0, 0, 1, 1]]])
def test_bad_labels(labels):
    with pytest.raises((TypeError, ValueError), match="labels"):
        cc.supcon_per_anchor(np.ones((4, 2)) + np.arange(8).reshape(4, 2), labels)


# --------------------------------------------------------------------------- buffer
def test_buffer_class_balanced_and_nested():
    g = torch.Generator().manual_seed(0)
    buf = cc.ClassBalancedBuffer(23)
    labels = torch.arange(100) // 10  # classes 0..9, 10 samples each
    history = []
    for t in range(5):
        idx = torch.arange(20 * t, 20 * t + 20)
        buf.update(idx, labels[idx], generator=g)
        counts = buf.class_counts()
        assert len(buf) == min(23, 20 * (t + 1))
        assert set(counts) == set(range(2 * t + 2))
        assert max(counts.values()) - min(counts.values()) <= 1
        assert torch.equal(labels[buf.indices], buf.labels)
        history.append(set(buf.indices.tolist()))
    # old classes only shrink: the final buffer's old samples were in every earlier buffer
    for t in range(4):
        old = {i for i in history[-1] if labels[i] < 2 * (t + 1)}
        assert old <= history[t]
    # deterministic under the generator
    b1, b2 = cc.ClassBalancedBuffer(7), cc.ClassBalancedBuffer(7)
    for b in (b1, b2):
        b.update(torch.arange(30), labels[:30], generator=torch.Generator().manual_seed(3))
    assert torch.equal(b1.indices, b2.indices)
    with pytest.raises(ValueError):
        cc.ClassBalancedBuffer(-1)
    with pytest.raises(ValueError):
        b1.update(torch.arange(3), [0, 1])


def test_buffer_refuses_float_indices_and_bad_labels():
    from mylib.contrastive import buffer
    assert cc.ClassBalancedBuffer is buffer.ClassBalancedBuffer and cc.task_classes is buffer.task_classes
    b = buffer.ClassBalancedBuffer(4)
    with pytest.raises(TypeError, match="indices"):
        b.update(np.arange(4) + 0.5, [0, 0, 1, 1])
    with pytest.raises(TypeError, match="indices"):
        b.update(np.ones(4, dtype=bool), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="indices"):
        b.update([-1, 0, 1, 2], [0, 0, 1, 1])
    with pytest.raises(TypeError, match="labels"):
        b.update(np.arange(4), np.array([0, 0, 1, 1]) + 0j)
    with pytest.raises(ValueError, match="labels"):
        b.update(np.arange(4), [0, 0, 1, -1])
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"capacity": 4})
    assert len(b) == 0  # nothing was stored by the refused updates


# --------------------------------------------------------------------------- augmentations
AUGS = [
    lambda x, g: na.random_crop(x, 2, generator=g),
    lambda x, g: na.random_resized_crop(x, generator=g),
    lambda x, g: na.random_hflip(x, 0.5, generator=g),
    lambda x, g: na.color_jitter(x, generator=g),
    lambda x, g: na.random_grayscale(x, 0.5, generator=g),
]


@pytest.mark.parametrize("aug", AUGS)
def test_augmentations_shape_range_determinism(aug):
    x = torch.rand(16, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    c = aug(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


def test_augmentation_exact_cases():
    x = torch.rand(6, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(na.random_hflip(x, 1.0), x.flip(-1))
    assert torch.equal(na.random_hflip(x, 0.0), x)
    assert torch.equal(na.random_crop(x, 0), x)
    g = na.random_grayscale(x, 1.0)
    assert torch.allclose(g[:, 0], g[:, 1]) and torch.allclose(g[:, 1], g[:, 2])
    assert torch.equal(na.color_jitter(x, p=0.0), x)
    # crop: every output pixel is an input pixel or padding 0, and content is shifted by <= padding
    y = na.random_crop(x, 1, generator=torch.Generator().manual_seed(0))
    assert torch.isin(y, torch.cat([x.flatten(), torch.zeros(1)])).all()
    # full-area resized crop is (almost) the identity
    r = na.random_resized_crop(x, scale=(1.0, 1.0), ratio=(7 / 5, 7 / 5))
    assert torch.allclose(r, x, atol=1e-5)
    # noise: mean and standard deviation within 5 standard errors
    z = torch.zeros(200, 1, 10, 10)
    e = na.gaussian_noise(z, 0.5, generator=torch.Generator().manual_seed(0)).flatten()
    n = e.numel()
    assert abs(e.mean().item()) < 5 * 0.5 / math.sqrt(n)
    assert abs(e.std().item() - 0.5) < 5 * 0.5 / math.sqrt(2 * n)


def test_augment_composition_and_validation():
    x8 = (torch.rand(4, 3, 8, 8) * 255).to(torch.uint8)
    aug = mylib.contrastive.image_augment()
    v = aug(x8, torch.Generator().manual_seed(0))
    assert v.shape == (4, 3, 8, 8) and v.dtype == torch.float32
    p = aug.plain(x8)
    m = torch.tensor(mylib.nn.CIFAR10_MEAN)[None, :, None, None]
    s = torch.tensor(mylib.nn.CIFAR10_STD_CO2L)[None, :, None, None]
    assert torch.allclose(p * s + m, x8.float() / 255, atol=1e-6)
    with pytest.raises(ValueError):
        na.random_crop(torch.rand(3, 8, 8))
    with pytest.raises(ValueError):
        na.random_hflip(torch.rand(2, 3, 8, 8), p=1.5)
    with pytest.raises(ValueError):
        na.color_jitter(torch.full((2, 3, 4, 4), float("nan")))
    with pytest.raises(ValueError):
        na.random_grayscale(x8)
    with pytest.raises(ValueError):
        na.random_resized_crop(torch.rand(2, 3, 8, 8), scale=(0.5, 1.5))


def test_augment_checks_its_input_once_and_still_rejects_nan():
    aug = na.Augment(crop_padding=1, hflip=0.5, noise_std=0.1)
    x = torch.rand(4, 3, 8, 8)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(aug(x, g1), aug(x, g2))
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        aug(bad)
    with pytest.raises(ValueError, match="NaN"):  # the public ops still check on their own
        na.random_hflip(bad)


def test_augmentations_live_in_the_training_stack_and_stay_importable():
    for name in ("Augment", "random_crop", "random_resized_crop", "random_hflip", "color_jitter", "random_grayscale",
                 "gaussian_noise"):
        assert getattr(mylib.contrastive, name) is getattr(na, name) is getattr(mylib.nn, name)
        assert name in mylib.contrastive.__all__ and not hasattr(cc, name)
