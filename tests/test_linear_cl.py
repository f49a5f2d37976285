"""Tests of mylib.linear_cl: closed forms vs exact moment propagation, Monte Carlo (z-scores from the
standard error), invariants (practical GR = oracle, early stopping = GR), hand-computed cases, and
the ValueErrors."""
import numpy as np
import pytest
import torch

import mylib
from mylib import linear_cl as lc

Z_MAX = 4.0  # |MC mean - theory| / SE; with ~40 checks P(|z| > 4 anywhere) < 0.3%


@pytest.fixture(scope="module")
def fixed_tasks():
    return lc.covariate_shift_tasks(6, 12, 8, k=2, value=10.0, design="fixed", rng=1)


def exact_moments(tasks, lams, sigma2):
    """E||w_t - w*||^2 by propagating the mean and covariance of u_t = w_t - w* exactly."""
    p = tasks.p
    m, C, out = -tasks.w_star.copy(), np.zeros((p, p)), []
    for t, X in enumerate(tasks.X):
        S = X.T @ X / tasks.ns[t]
        Xi = (tasks.V * lams[t]) @ tasks.V.T
        Minv = np.linalg.inv(S + Xi)
        A, B = Minv @ Xi, Minv @ X.T / tasks.ns[t]
        m, C = A @ m, A @ C @ A.T + sigma2 * B @ B.T
        out.append(m @ m + np.trace(C))
    return np.array(out)


# ------------------------------------------------------------------ data
def test_fixed_design_has_exact_second_moments(fixed_tasks):
    t = fixed_tasks
    for X, g, n in zip(t.X, t.gammas, t.ns):
        assert X.shape == (n, t.p)
        np.testing.assert_allclose(X.T @ X / n, (t.V * g) @ t.V.T, atol=1e-12)
    assert np.all((t.gammas > 0).sum(1) == 8)          # over-parameterized: rank n_t = 8 < p = 12
    assert np.all((t.gammas == 10.0).sum(1) == 2)      # two spiked directions per task
    np.testing.assert_allclose(t.V.T @ t.V, np.eye(12), atol=1e-12)
    assert np.isclose(t.e0.sum(), 1.0)                 # ||w*|| = 1


def test_generators_are_seeded_and_random_design_redraws():
    a = lc.isotropic_tasks(3, 5, 4, design="random", rng=7)
    b = lc.isotropic_tasks(3, 5, 4, design="random", rng=7)
    np.testing.assert_array_equal(a.X[0], b.X[0])
    c = a.redraw(1)
    assert c.X[0].shape == (4, 5) and not np.allclose(c.X[0], a.X[0])
    with pytest.raises(ValueError):
        lc.isotropic_tasks(3, 5, 4, design="fixed").redraw(0)


def test_fixed_design_rejects_rank_above_n():
    with pytest.raises(ValueError, match="rank"):
        lc.fixed_design(np.ones((1, 4)), [3])


# ------------------------------------------------------------------ recursion: exact checks
def test_recursion_hand_computed():
    # e = (lam^2 e0 + sigma2 gamma / n) / (lam + gamma)^2 = (1*3 + 1*2/4) / 9
    assert lc.gr_error([[2.0]], [[1.0]], [4], 1.0, [3.0])[0] == pytest.approx(3.5 / 9, rel=1e-15)
    # two tasks, two directions, by hand
    g, lam = np.array([[1.0, 0.0], [2.0, 1.0]]), np.array([[1.0, 1.0], [2.0, 0.5]])
    e1 = np.array([(1 * 1 + 1 * 1 / 2) / 4, 4.0])
    e2 = np.array([(4 * e1[0] + 2 / 2) / 16, (0.25 * e1[1] + 1 / 2) / 2.25])
    np.testing.assert_allclose(lc.gr_error(g, lam, [2, 2], 1.0, [1.0, 4.0], per_direction=True),
                               np.vstack([e1, e2]), rtol=1e-14)


def test_recursion_equals_exact_moment_propagation(fixed_tasks):
    rng = np.random.default_rng(0)
    lams = rng.uniform(0.1, 3.0, size=fixed_tasks.gammas.shape)
    th = lc.gr_error(fixed_tasks.gammas, lams, fixed_tasks.ns, 2.0, fixed_tasks.e0)
    np.testing.assert_allclose(th, exact_moments(fixed_tasks, lams, 2.0), rtol=1e-10)


def test_infinite_lambda_freezes_direction():
    e = lc.gr_error([[1.0, 1.0]], [[np.inf, 1.0]], [1], 1.0, [5.0, 5.0], per_direction=True)
    assert e[0, 0] == 5.0 and e[0, 1] == pytest.approx((5 + 1) / 4)


# ------------------------------------------------------------------ optimal, oracle, min norm
def test_optimal_closed_form_and_lams(fixed_tasks):
    g, n, e0 = fixed_tasks.gammas, fixed_tasks.ns, fixed_tasks.e0
    S = np.cumsum(n[:, None] * g, 0)
    np.testing.assert_allclose(lc.optimal_gr_error(g, n, 1.5, e0), (1.5 / (1.5 / e0 + S)).sum(1), rtol=1e-12)
    lam = lc.optimal_lams(g, n, 1.5, e0)
    np.testing.assert_allclose(lam[0], 1.5 / (n[0] * e0))
    np.testing.assert_allclose(lam[1:], (1.5 / e0 + S[:-1]) / n[1:, None], rtol=1e-12)
    np.testing.assert_allclose(lc.gr_error(g, lam, n, 1.5, e0), lc.optimal_gr_error(g, n, 1.5, e0), rtol=1e-10)


def test_optimal_beats_every_gr_and_is_of_oracle_order(fixed_tasks):
    g, n, e0 = fixed_tasks.gammas, fixed_tasks.ns, fixed_tasks.e0
    opt = lc.optimal_gr_error(g, n, 1.0, e0, per_direction=True)
    rng = np.random.default_rng(1)
    for _ in range(200):
        lams = np.exp(rng.uniform(-5, 5, size=g.shape))
        assert np.all(lc.gr_error(g, lams, n, 1.0, e0, per_direction=True) >= opt * (1 - 1e-12))
    orc = lc.oracle_error(g, n, 1.0, e0)
    c = lc.oracle_order_constant(g, n, 1.0, e0)
    assert np.all(opt.sum(1) <= orc + 1e-15) and np.all(opt.sum(1) >= c * orc - 1e-15)
    # hand-computed: one direction, S = 2 * 3 = 6, sigma2 / e0 = 2 -> c = 6 / 8
    assert lc.oracle_order_constant([[3.0]], [2], 1.0, [0.5])[0] == 0.75
    assert lc.oracle_order_constant([[0.0]], [2], 1.0, [0.5])[0] == 1.0


def test_edge_cases_of_optimal():
    # e0 = 0: nothing to learn; sigma2 = 0: exact recovery where observed
    assert lc.optimal_gr_error([[1.0]], [1], 1.0, [0.0])[0] == 0.0
    np.testing.assert_allclose(lc.optimal_gr_error([[1.0, 0.0]], [1], 0.0, [1.0, 2.0], per_direction=True),
                               [[0.0, 2.0]])
    assert np.isinf(lc.optimal_lams([[1.0]], [1], 1.0, [0.0])[0, 0])


def test_minnorm_is_the_small_lambda_limit_and_has_a_floor(fixed_tasks):
    g, n, e0 = fixed_tasks.gammas, fixed_tasks.ns, fixed_tasks.e0
    mn = lc.minnorm_error(g, n, 1.0, e0)
    tiny = np.where(g > 0, 1e-9, 1e-300)
    np.testing.assert_allclose(lc.gr_error(g, tiny, n, 1.0, e0), mn, rtol=1e-6)
    assert np.all(mn >= lc.minnorm_floor(g, n, 1.0) - 1e-15)
    # identical full-rank tasks: the floor is reached and does not move with T
    same = np.ones((50, 3))
    err = lc.minnorm_error(same, np.full(50, 10), 1.0, np.ones(3))
    np.testing.assert_allclose(err, 0.3)
    assert lc.oracle_error(same, np.full(50, 10), 1.0, np.ones(3))[-1] == pytest.approx(3 / 500)


def test_practical_lams_reach_the_oracle_error(fixed_tasks):
    g, n, e0 = fixed_tasks.gammas, fixed_tasks.ns, fixed_tasks.e0
    lam = lc.practical_lams(g, n)
    lam[lam == 0] = 1e-14  # the Xi -> 0+ limit: min norm where observed, frozen where not
    np.testing.assert_allclose(lc.gr_error(g, lam, n, 1.0, e0), lc.oracle_error(g, n, 1.0, e0), rtol=1e-8)


def test_oracle_isotropic_rate():
    g = np.ones((4, 5))
    np.testing.assert_allclose(lc.oracle_error(g, [10, 10, 20, 5], 2.0, np.ones(5)),
                               2.0 * 5 / np.array([10, 20, 40, 45]))


# ------------------------------------------------------------------ estimators: invariants
def test_practical_gr_equals_oracle_any_design():
    rng = np.random.default_rng(2)
    for n, p in [(3, 8), (12, 5)]:
        Xs = [rng.standard_normal((n, p)) * rng.uniform(0.5, 2, p) for _ in range(5)]
        Ys = [rng.standard_normal(n) for _ in range(5)]
        np.testing.assert_allclose(lc.practical_path(Xs, Ys), lc.oracle_path(Xs, Ys), atol=1e-9)


def test_optimal_path_matches_diagonal_xis_in_fixed_design(fixed_tasks):
    t = fixed_tasks
    Ys = lc.sample_responses(t.X, t.w_star, 1.0, 3, rng=0)
    a = lc.optimal_path(t.X, Ys, t.V, t.e0, 1.0)
    b = lc.gr_path(t.X, Ys, lc.xis_from_lams(t.V, lc.optimal_lams(t.gammas, t.ns, 1.0, t.e0)))
    assert a.shape == (3, t.T, t.p)
    np.testing.assert_allclose(a, b, atol=1e-10)


def test_gr_path_minimises_the_objective():
    rng = np.random.default_rng(3)
    X, y, wp = rng.standard_normal((6, 4)), rng.standard_normal(6), rng.standard_normal(4)
    A = rng.standard_normal((4, 4))
    Xi = A @ A.T
    w = lc.gr_path([X], [y], [Xi], w0=wp)[0]
    grad = 2 * X.T @ (X @ w - y) / 6 + 2 * Xi @ (w - wp)
    assert np.abs(grad).max() < 1e-10


def test_minnorm_path_is_the_projection_update():
    rng = np.random.default_rng(4)
    Xs = [rng.standard_normal((3, 7)) for _ in range(3)]
    Ys = [rng.standard_normal(3) for _ in range(3)]
    w = np.zeros(7)
    for X, y in zip(Xs, Ys):
        w = w + np.linalg.pinv(X) @ (y - X @ w)
    np.testing.assert_allclose(lc.minnorm_path(Xs, Ys)[-1], w, atol=1e-10)
    np.testing.assert_allclose(lc.ridge_path(Xs, Ys, 1e-12)[-1], w, atol=1e-6)


@pytest.mark.parametrize("k", [1, 7, 60])
def test_early_stopping_equals_gr(fixed_tasks, k):
    t, rng = fixed_tasks, np.random.default_rng(k)
    g, X = t.gammas[3], t.X[3]
    y, wp = X @ t.w_star + rng.standard_normal(X.shape[0]), rng.standard_normal(t.p)
    etas = np.where(g > 0, rng.uniform(0.05, 1.0, t.p) / np.where(g > 0, g, 1), 0.3)
    wk = lc.early_stopping(X, y, wp, (t.V * etas) @ t.V.T, k)
    lam = lc.early_stopping_to_gr(g, etas, k)
    assert np.all(np.isinf(lam) == (g == 0))
    wg = lc.gr_path([X], [y], lc.xis_from_lams(t.V, np.where(np.isinf(lam), 1.0, lam)[None]), w0=wp)[0]
    np.testing.assert_allclose(wk, wg, atol=1e-11)
    np.testing.assert_allclose(lc.gr_to_early_stopping(g, lam, k), np.where(g > 0, etas, 0.0), rtol=1e-9)


def test_scalar_learning_rate_and_ali_limit():
    g = np.array([1e-3, 1e-2])
    lam = lc.early_stopping_to_gr(g, np.full(2, 1e-2), 1000)  # eta*k = 10, eta*gamma*k small -> 1/(eta k)
    np.testing.assert_allclose(lam, 1 / 10 - g / 2, rtol=2e-2)


# ------------------------------------------------------------------ Monte Carlo
def test_monte_carlo_fixed_design_within_standard_error(fixed_tasks):
    t = fixed_tasks
    g, n, e0 = t.gammas, t.ns, t.e0
    lams = np.random.default_rng(5).uniform(0.1, 3.0, size=g.shape)
    methods = {"oracle": "oracle", "minnorm": "minnorm", "optimal": "optimal", "gr": lams,
               "ridge": np.full(g.shape, 0.5)}
    mc = lc.monte_carlo(t, methods, 1.0, 3000, rng=6)
    theory = {"oracle": lc.oracle_error(g, n, 1, e0), "minnorm": lc.minnorm_error(g, n, 1, e0),
              "optimal": lc.optimal_gr_error(g, n, 1, e0), "gr": lc.gr_error(g, lams, n, 1, e0),
              "ridge": lc.ridge_error(g, 0.5, n, 1, e0)}
    for name in methods:
        s = lc.mc_summary(mc[name], theory[name])
        assert np.all(np.abs(s["z"]) < Z_MAX), (name, s["z"])
        assert np.all(s["rel"] < 0.05)


def test_monte_carlo_gaussian_design_oracle_and_minnorm():
    # under-parameterized tasks: oracle sigma2 p / (N - p - 1); min norm forgets: p / (n - p - 1) each task
    t = lc.isotropic_tasks(3, 6, 14, design="random", rng=3)
    mc = lc.monte_carlo(t, {"oracle": "oracle", "minnorm": "minnorm"}, 1.0, 3000, rng=8, chunk=1000)
    N = np.cumsum(t.ns)
    for name, th in [("oracle", lc.oracle_error_gaussian(6, N, 1.0)),
                     ("minnorm", lc.minnorm_error_gaussian(6, t.ns, 1.0))]:
        s = lc.mc_summary(mc[name], th)
        assert np.all(np.abs(s["z"]) < Z_MAX), (name, s["z"])
    # over-parameterized tasks: bias (1 - N/p)||w*||^2 plus variance
    t = lc.isotropic_tasks(2, 20, 4, design="random", rng=4)
    mc = lc.monte_carlo(t, {"oracle": "oracle", "minnorm": "minnorm"}, 0.5, 3000, rng=9, chunk=1000)
    s = lc.mc_summary(mc["oracle"], lc.oracle_error_gaussian(20, [4, 8], 0.5))
    assert np.all(np.abs(s["z"]) < Z_MAX), s["z"]
    s = lc.mc_summary(mc["minnorm"], lc.minnorm_error_gaussian(20, [4, 4], 0.5))
    assert np.all(np.abs(s["z"]) < Z_MAX), s["z"]


def test_ridge_gap_family_ratio_grows_and_mc_agrees():
    ratios = []
    for kappa in [1.0, 4.0, 16.0, 64.0]:
        f = lc.ridge_gap_family(kappa)
        lams, err = lc.tune_ridge(f["gammas"], f["ns"], 1.0, f["e0"])
        opt = lc.optimal_gr_error(f["gammas"], f["ns"], 1.0, f["e0"])[-1]
        assert err[-1] >= 1 / (4 * kappa ** 3) * (1 - 1e-9) and opt <= 2 / kappa ** 4
        ratios.append(err[-1] / opt)
        # no single ridge value on a dense grid beats the tuned one
        grid = np.logspace(-6, 12, 400)
        best = min(lc.ridge_error(f["gammas"], [lams[0], l], f["ns"], 1.0, f["e0"])[-1] for l in grid)
        assert err[-1] <= best * (1 + 1e-6)
    assert np.all(np.diff(ratios) > 0) and ratios[-1] >= 64 / 8
    # simulation at kappa = 3
    f = lc.ridge_gap_family(3.0)
    lams, err = lc.tune_ridge(f["gammas"], f["ns"], 1.0, f["e0"])
    X = lc.fixed_design(f["gammas"], f["ns"], rng=0)
    t = lc.TaskSequence(X=X, gammas=f["gammas"], ns=f["ns"], V=np.eye(2), w_star=np.ones(2), design="fixed")
    mc = lc.monte_carlo(t, {"ridge": np.repeat(lams[:, None], 2, 1), "optimal": "optimal"}, 1.0, 4000, rng=1)
    for name, th in [("ridge", err), ("optimal", lc.optimal_gr_error(f["gammas"], f["ns"], 1.0, f["e0"]))]:
        assert np.all(np.abs(lc.mc_summary(mc[name], th)["z"]) < Z_MAX)


def test_tune_ridge_constant_mode_is_no_better_than_a_grid():
    t = lc.covariate_shift_tasks(4, 10, 6, k=2, value=20.0, rng=0)
    lam, err = lc.tune_ridge(t.gammas, t.ns, 1.0, t.e0, mode="constant")
    assert np.all(lam == lam[0])
    best = min(lc.ridge_error(t.gammas, l, t.ns, 1.0, t.e0)[-1] for l in np.logspace(-4, 4, 200))
    assert err[-1] <= best * (1 + 1e-9)


def test_design_conditional_error_matches_recursion_and_mc(fixed_tasks):
    t = fixed_tasks
    lams = np.random.default_rng(11).uniform(0.1, 3.0, size=t.gammas.shape)
    np.testing.assert_allclose(lc.gr_error_design(t.X, lc.xis_from_lams(t.V, lams), t.w_star, 1.3),
                               lc.gr_error(t.gammas, lams, t.ns, 1.3, t.e0), rtol=1e-9)
    np.testing.assert_allclose(lc.gr_error_design(t.X, None, t.w_star, 1.3),
                               lc.minnorm_error(t.gammas, t.ns, 1.3, t.e0), rtol=1e-9)
    # one Gaussian design held fixed, noise redrawn: the conditional formula is exact
    g = lc.covariate_shift_tasks(4, 10, 7, k=2, value=30.0, design="random", rng=5)
    xis = [0.3 * np.eye(10)] * 4
    th = lc.gr_error_design(g.X, xis, g.w_star, 1.0)
    mc = lc.monte_carlo(g, {"r": np.full((4, 10), 0.3)}, 1.0, 3000, rng=2, redraw_design=False)
    assert np.all(np.abs(lc.mc_summary(mc["r"], th)["z"]) < Z_MAX)


def test_tune_ridge_design_agrees_with_closed_form_tuning(fixed_tasks):
    t = fixed_tasks
    lam_a, err_a = lc.tune_ridge(t.gammas, t.ns, 1.0, t.e0)
    lam_b, err_b = lc.tune_ridge_design(t.X, t.w_star, 1.0)
    np.testing.assert_allclose(err_b, err_a, rtol=1e-6)
    np.testing.assert_allclose(err_b, lc.ridge_error(t.gammas, lam_b, t.ns, 1.0, t.e0), rtol=1e-9)


# ------------------------------------------------------------------ input handling
def test_torch_inputs_give_the_same_numbers(fixed_tasks):
    g, n, e0 = fixed_tasks.gammas, fixed_tasks.ns, fixed_tasks.e0
    lams = np.full(g.shape, 0.7)
    a = lc.gr_error(g, lams, n, 1.0, e0)
    b = lc.gr_error(torch.tensor(g), torch.tensor(lams), torch.tensor(n), 1.0, torch.tensor(e0))
    np.testing.assert_allclose(a, b, rtol=0)
    np.testing.assert_allclose(lc.optimal_gr_error(torch.tensor(g), n, 1.0, e0), lc.optimal_gr_error(g, n, 1.0, e0))


@pytest.mark.parametrize("call, match", [
    (lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 2)), [1, 1], 1.0, np.ones(3)), "shape"),
    (lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [1], 1.0, np.ones(3)), "length T"),
    (lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [1, 1], 1.0, np.ones(2)), "length p"),
    (lambda: lc.gr_error(-np.ones((2, 3)), np.ones((2, 3)), [1, 1], 1.0, np.ones(3)), "non-negative"),
    (lambda: lc.gr_error(np.ones((2, 3)), -np.ones((2, 3)), [1, 1], 1.0, np.ones(3)), "non-negative"),
    (lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [1, 1], -1.0, np.ones(3)), "sigma2"),
    (lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [1, 1], 1.0, -np.ones(3)), "non-negative"),
    (lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [1, 0], 1.0, np.ones(3)), "positive"),
    (lambda: lc.gr_error(np.zeros((1, 2)), np.zeros((1, 2)), [1], 1.0, np.ones(2)), "lambda \\+ gamma = 0"),
    (lambda: lc.gr_error(np.ones((1, 2)), np.full((1, 2), np.nan), [1], 1.0, np.ones(2)), "NaN"),
    (lambda: lc.gr_error(np.full((1, 2), np.inf), np.ones((1, 2)), [1], 1.0, np.ones(2)), "NaN or inf"),
    (lambda: lc.gr_error(np.ones(3), np.ones(3), [1], 1.0, np.ones(3)), "2-D"),
    (lambda: lc.optimal_gr_error(np.ones((2, 3)), [1, 1, 1], 1.0, np.ones(3)), "length T"),
    (lambda: lc.optimal_gr_error(np.ones((2, 3)), [1, 1], 1.0, np.ones(4)), "length p"),
    (lambda: lc.optimal_gr_error(np.ones((2, 3)), [1, 1], float("nan"), np.ones(3)), "sigma2"),
    (lambda: lc.optimal_gr_error(np.empty((0, 3)), [], 1.0, np.ones(3)), "empty"),
    (lambda: lc.early_stopping_to_gr(np.ones(3), np.full(3, 1.5), 2), "eta_j \\* gamma_j"),
    (lambda: lc.early_stopping_to_gr(np.ones(3), np.ones(2), 2), "equal shapes"),
    (lambda: lc.early_stopping(np.ones((3, 2)), np.ones(3), np.zeros(2), -0.1, 2), "positive"),
    (lambda: lc.early_stopping(np.ones((3, 2)), np.ones(3), np.zeros(2), 0.1, 0), "integer"),
    (lambda: lc.gr_path([np.ones((3, 2))], [np.ones(4)], None), "Ys\\[0\\]"),
    (lambda: lc.gr_path([np.ones((3, 2)), np.ones((3, 3))], [np.ones(3)] * 2, None), "columns"),
    (lambda: lc.gr_path([np.ones((3, 2))], [np.ones(3)], [-np.eye(2)]), "semi-definite"),
    (lambda: lc.gr_path([np.ones((3, 2))], [np.ones(3)], [np.array([[1.0, 2.0], [0.0, 1.0]])]), "symmetric"),
    (lambda: lc.gr_path([np.ones((3, 2))], [np.array([1.0, np.inf, 0.0])], None), "NaN or inf"),
    (lambda: lc.gr_path(np.ones((3, 2)), [np.ones(3)], None), "list"),
    (lambda: lc.isotropic_tasks(3, 5, 4, design="nope"), "design"),
    (lambda: lc.covariate_shift_tasks(3, 5, 4, k=9), "spiked"),
    (lambda: lc.isotropic_tasks(3, 5, 0), "positive"),
    (lambda: lc.isotropic_tasks(3, 5, 4, rng=-1), "rng"),
    (lambda: lc.ridge_gap_family(0.5), "kappa"),
    (lambda: lc.oracle_error_gaussian(5, 0, 1.0), "positive"),
    (lambda: lc.tune_ridge(np.ones((1, 2)), [1], 1.0, np.ones(2), mode="x"), "mode"),
    (lambda: lc.mc_summary(np.ones((1, 3))), "2 repetitions"),
    (lambda: lc.xis_from_lams(np.eye(2), np.full((1, 2), np.inf)), "NaN or inf"),
    (lambda: lc.optimal_xis([np.ones((2, 2))], np.eye(2), [0.0, 1.0], 1.0), "e0 > 0"),
    (lambda: mylib.get_config("part3_paper_experiment", "medium"), "unknown profile"),
    (lambda: lc.gr_error_design([np.ones((3, 2))], None, np.ones(3), 1.0), "w_star"),
    (lambda: lc.tune_ridge_design([np.ones((2, 3, 2))], np.ones(2), 1.0), "one design per task"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_monte_carlo_rejects_unknown_methods(fixed_tasks):
    with pytest.raises(ValueError, match="unknown method"):
        lc.monte_carlo(fixed_tasks, {"x": "lasso"}, 1.0, 2, rng=0)
    with pytest.raises(ValueError, match="shape"):
        lc.monte_carlo(fixed_tasks, {"x": np.ones((2, 2))}, 1.0, 2, rng=0)


def test_profiles_registered_and_full_path_runs_tiny():
    for name in ["part3_theory_vs_mc", "part3_paper_experiment", "part3_explorer"]:
        s, f = mylib.get_config(name, "smoke"), mylib.get_config(name, "full")
        assert set(s.as_dict()) == set(f.as_dict())
    f = mylib.get_config("part3_paper_experiment", "full", p=6, T=3, n=4, reps_fixed=3, reps_random=2,
                         random_chunk=1, shift_k=1)
    t = lc.covariate_shift_tasks(f.T, f.p, f.n, k=f.shift_k, value=f.shift_value, design="random", rng=0)
    mc = lc.monte_carlo(t, {"o": "oracle", "p": "practical", "opt": "optimal"}, 1.0, f.reps_random, rng=0,
                        chunk=f.random_chunk)
    assert mc["o"].shape == (2, 3) and np.allclose(mc["o"], mc["p"], atol=1e-9)


def test_explorer_curves_are_ordered():
    c = lc.explorer_curves(T=5, p=40, n=30, k=3)
    opt = c["optimal GR"]
    for name, y in c.items():
        assert y.shape == (5,) and np.all(y >= opt * (1 - 1e-9)), name


def test_explorer_plot_draws_labelled_axes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = lc.explorer_plot(T=4, p=30, n=20, k=2, heterogeneity=10.0)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and len(ax.lines) == 5
    plt.close(fig)


def test_ridge_tuners_reject_non_positive_grids():
    from mylib import linear_cl as _lc

    for bad in ([-1.0, 0.5, 2.0], [0.0, 0.5], []):
        with pytest.raises(ValueError, match="grid"):
            _lc._ridge_grid(bad, 1.0)
    assert list(_lc._ridge_grid([2.0, 0.5], 1.0)) == [0.5, 2.0]


# ------------------------------------------------------------------ joint ridge, memory, drivers (issue 13)
def test_joint_ridge_is_at_least_as_good_as_greedy_and_constant(fixed_tasks):
    t = fixed_tasks
    g, ns, e0 = t.gammas, t.ns, t.e0
    greedy = lc.tune_ridge(g, ns, 1.0, e0, mode="greedy")[1][-1]
    const = lc.tune_ridge(g, ns, 1.0, e0, mode="constant")[1][-1]
    lams, joint = lc.tune_ridge(g, ns, 1.0, e0, mode="joint")
    assert joint[-1] <= min(greedy, const) * (1 + 1e-12)
    assert joint[-1] < greedy * (1 - 1e-4)  # strictly better here: greedy is myopic
    # a stationary point: perturbing any lambda_t in log space does not lower the final error
    for t_ in range(len(lams)):
        for f in (0.9, 1.1):
            l2 = lams.copy()
            l2[t_] *= f
            assert lc.ridge_error(g, l2, ns, 1.0, e0)[-1] >= joint[-1] * (1 - 1e-9)


def test_joint_ridge_gradient_matches_finite_differences(fixed_tasks):
    from mylib.linear_cl.theory import _ridge_final_and_grad

    t = fixed_tasks
    u = np.log(np.linspace(0.3, 3.0, t.T))
    f, grad = _ridge_final_and_grad(u, t.gammas, t.ns, 1.0, t.e0)
    assert np.isclose(f, lc.ridge_error(t.gammas, np.exp(u), t.ns, 1.0, t.e0)[-1], rtol=1e-12)
    h = 1e-6
    num = [(_ridge_final_and_grad(u + h * e, t.gammas, t.ns, 1.0, t.e0)[0]
            - _ridge_final_and_grad(u - h * e, t.gammas, t.ns, 1.0, t.e0)[0]) / (2 * h) for e in np.eye(t.T)]
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-12)
    # mutation: dropping the chain-rule factor lambda (gradient in lambda, not log lambda) is caught
    assert not np.allclose(grad / np.exp(u), num, rtol=1e-3)


def _distinct_fixed_design(seed=1, T=5, p=8, n=10):
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.5, 2.0, (T, p))
    g[:, :2] = 0.0
    g[2, 0] = 1.0
    V = mylib.linalg.haar_orthonormal(p, p, rng)
    X = lc.fixed_design(g, [n] * T, V, rng)
    w = rng.standard_normal(p)
    return g, np.full(T, float(n)), V, X, w, (V.T @ w) ** 2


@pytest.mark.parametrize("kind,k", [("full", None), ("last", None), ("lowrank", 3), ("lowrank", 1)])
def test_memory_closed_forms_equal_exact_moments(kind, k):
    g, ns, V, X, w, e0 = _distinct_fixed_design()
    closed = lc.memory_error(g, ns, 1.3, e0, kind, k)
    exact = lc.gr_error_design(X, lc.memory_xis(X, kind, k), w, 1.3)
    np.testing.assert_allclose(closed, exact, rtol=1e-10)
    if kind == "full":
        np.testing.assert_allclose(closed, lc.oracle_error(g, ns, 1.3, e0), rtol=1e-12)


def test_memory_xis_structure_and_counts():
    g, ns, V, X, w, e0 = _distinct_fixed_design()
    full = lc.memory_xis(X, "full")
    for a, b in zip(full, lc.practical_xis(X)):
        np.testing.assert_allclose(a, b, atol=1e-12)
    diag = lc.memory_xis(X, "diagonal")
    for a, b in zip(diag, full):
        np.testing.assert_allclose(a, np.diag(np.diag(b)), atol=1e-12)
    for xi in lc.memory_xis(X, "lowrank", 2)[1:]:
        assert np.linalg.matrix_rank(xi, tol=1e-9) <= 2
    np.testing.assert_allclose(lc.memory_xis(X, "last")[3], X[2].T @ X[2] / 10, atol=1e-12)
    assert np.all(lc.memory_xis(X, "last")[0] == 0)
    p = 200
    assert [lc.memory_floats(k, p, 5, 150) for k in ("minnorm", "ridge", "diagonal", "lowrank", "last", "full")] \
        == [0, 1, 200, 1005, 20100, 20100]
    for bad in [dict(kind="lowrank"), dict(kind="lowrank", k=9), dict(kind="nope")]:
        with pytest.raises(ValueError):
            lc.memory_xis(X, **bad)
    with pytest.raises(ValueError, match="diagonal"):
        lc.memory_lams(g, ns, "diagonal")


def test_diagonal_fisher_monte_carlo_matches_exact_moments(fixed_tasks):
    t = fixed_tasks
    xis = lc.memory_xis(t.X, "diagonal")
    theory = lc.gr_error_design(t.X, xis, t.w_star, 0.5)
    mc = lc.monte_carlo(t, {"ewc": xis, "ewc-named": "diagonal", "last": "last"}, 0.5, 4000, rng=3)
    assert np.abs(lc.mc_summary(mc["ewc"], theory)["z"]).max() < Z_MAX
    np.testing.assert_allclose(mc["ewc"], mc["ewc-named"], rtol=1e-10)
    last = lc.gr_error_design(t.X, lc.memory_xis(t.X, "last"), t.w_star, 0.5)
    assert np.abs(lc.mc_summary(mc["last"], last)["z"]).max() < Z_MAX
    # mutation: the full Gram's theory does not describe the diagonal Fisher
    wrong = lc.oracle_error(t.gammas, t.ns, 0.5, t.e0)
    assert np.abs(lc.mc_summary(mc["ewc"], wrong)["z"]).max() > 10
    with pytest.raises(ValueError, match="fixed design"):
        lc.monte_carlo(lc.isotropic_tasks(2, 3, 2, design="random"), {"x": [np.eye(3)] * 2}, 1.0, 2, rng=0)


def test_closed_form_map_and_drivers():
    cfg = mylib.get_config("part3_paper_experiment", "smoke")
    tasks = lc.paper_tasks(cfg, True, "fixed", 0)
    th = lc.closed_form_errors(tasks.gammas, tasks.ns, 1.0, tasks.e0)
    assert list(th) == list(lc.PAPER_METHODS)
    np.testing.assert_array_equal(th["practical GR"], th["oracle"])
    assert np.all(th["optimal GR"] <= th["oracle"] + 1e-12)
    assert th["ridge (joint)"][-1] <= th["ridge (greedy)"][-1]
    with pytest.raises(ValueError, match="unknown method"):
        lc.closed_form_errors(tasks.gammas, tasks.ns, 1.0, tasks.e0, ["ridge (best)"])
    d = lc.draw_study(cfg, 1.0, False, 2, seed=0, methods=["oracle", "minimum norm"])
    assert d["oracle"].shape == (2, cfg.T) and not np.allclose(d["oracle"][0], d["oracle"][1])
    d1 = lc.draw_study(cfg, 1.0, False, 1, seed=0, methods=["oracle"])
    np.testing.assert_array_equal(d1["oracle"][0], d["oracle"][0])  # draw 0 does not depend on the count
    m = lc.memory_study(tasks, 1.0, ranks=(2,))
    assert m["full Gram (= oracle)"]["memory"] == 20100 and m["diagonal Fisher (EWC)"]["memory"] == 200
    np.testing.assert_allclose(m["full Gram (= oracle)"]["errors"], th["oracle"], rtol=1e-12)
    table = lc.mc_table({"oracle": np.ones((3, cfg.T)) + np.arange(3)[:, None]}, {"oracle": np.full(cfg.T, 2.0)},
                        steps=[0])
    assert len(table) == 1 and table["_z"].iloc[0] == 0.0
    with pytest.raises(ValueError, match="theory"):
        lc.mc_table({"a": np.ones((3, 2))}, {})


@pytest.mark.parametrize("call", [
    lambda: lc.gr_error(np.ones((2, 3)) + 0j, np.ones((2, 3)), [2, 2], 1.0, np.ones(3)),
    lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)) * (1 + 1j), [2, 2], 1.0, np.ones(3)),
    lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [2, 2], 1.0 + 1j, np.ones(3)),
    lambda: lc.gr_error(np.ones((2, 3)), np.ones((2, 3)), [2, 2], 1.0, torch.ones(3, dtype=torch.complex64)),
    lambda: lc.oracle_error_gaussian(5, np.array([3 + 0j]), 1.0),
])
def test_complex_input_is_a_type_error_naming_the_argument(call):
    with pytest.raises(TypeError, match="gammas|lams|sigma2|e0|N"):
        call()


def test_mean_ci_coverage_and_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 10)) + 3.0
    ci = mylib.stats.mean_ci(x, axis=1)
    cover = np.mean((ci["lo"] <= 3.0) & (3.0 <= ci["hi"]))
    assert 0.93 < cover < 0.97  # Student t: exact 95 % for normal data (SE of the rate ~0.005)
    z = mylib.stats.mean_ci(x, level=0.5, axis=1)  # mutation of the level narrows the interval
    assert np.all(z["hi"] - z["lo"] < ci["hi"] - ci["lo"])
    with pytest.raises(ValueError):
        mylib.stats.mean_ci([1.0])
    with pytest.raises(ValueError):
        mylib.stats.mean_ci([1.0, 2.0], level=1.0)


def test_full_profile_comparison_reads_the_record(tmp_path):
    import json

    assert lc.full_profile_comparison("nb", {"a": 1}, results=str(tmp_path)) is None
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "nb-seed0.json").write_text(json.dumps(
        {"numbers": {"a": 2, "b": True}, "device": "cpu", "wall_time_s": 3.0, "finished": "now", "status": "ok"}))
    table, meta = lc.full_profile_comparison("nb", {"a": 1, "c": 0.5}, results=str(tmp_path))
    assert table.loc["a"].tolist() == ["1", "2"] and table.loc["b"].tolist() == ["-", "True"]
    assert table.loc["c"].tolist() == ["0.5", "-"] and meta["device"] == "cpu"


@pytest.mark.parametrize("k, match", [(None, "needs the rank k"), (0, "k"), (5, "k must be <= p=4"), (1.5, "k")])
def test_lowrank_memory_rank_is_checked_in_both_forms(k, match):
    rng = np.random.default_rng(0)
    Xs = [rng.standard_normal((6, 4)) for _ in range(2)]
    with pytest.raises(ValueError, match=match):
        lc.memory_xis(Xs, "lowrank", k=k)
    with pytest.raises(ValueError, match=match):
        lc.memory_lams(np.ones((2, 4)), [6, 6], "lowrank", k=k)
    assert len(lc.memory_xis(Xs, "lowrank", k=2)) == 2
    assert lc.memory_lams(np.ones((2, 4)), [6, 6], "lowrank", k=2).shape == (2, 4)
