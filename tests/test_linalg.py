"""mylib.linalg against closed forms: Haar law, pseudo-inverse solves, square roots, entropies, v(n, p)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mylib import linalg


# --------------------------------------------------------------------------- haar_orthonormal
@pytest.mark.parametrize("rows,cols", [(1, 1), (5, 5), (7, 3), (40, 10)])
def test_haar_columns_are_orthonormal(rows, cols):
    Q = linalg.haar_orthonormal(rows, cols, rng=1)
    assert Q.shape == (rows, cols) and Q.dtype == np.float64
    np.testing.assert_allclose(Q.T @ Q, np.eye(cols), atol=1e-13)


def test_haar_is_seeded():
    a = linalg.haar_orthonormal(6, 3, rng=5)
    assert np.array_equal(a, linalg.haar_orthonormal(6, 3, rng=np.random.default_rng(5)))
    assert np.array_equal(a, linalg.haar_orthonormal(6, 3, rng=np.random.SeedSequence(5)))
    assert not np.array_equal(a, linalg.haar_orthonormal(6, 3, rng=6))


def _haar_moments(sampler, rows, cols, m=20000):
    g = np.random.default_rng(123)
    q = np.array([sampler(rows, cols, g)[0, 0] for _ in range(m)])
    return q


def _z(values, expected):
    return (values.mean() - expected) / (values.std(ddof=1) / math.sqrt(values.size))


def test_haar_law_first_entry_moments():
    """Q_11 of a Haar frame: symmetric, E[Q11^2] = 1/rows, E[Q11^4] = 3/(rows (rows + 2)) (Q11^2 ~ Beta(1/2, (rows-1)/2))."""
    rows, cols = 4, 2
    q = _haar_moments(linalg.haar_orthonormal, rows, cols)
    assert abs(_z(q, 0.0)) < 4
    assert abs(_z(q**2, 1 / rows)) < 4
    assert abs(_z(q**4, 3 / (rows * (rows + 2)))) < 4
    # a column is uniform on the sphere: every entry has the same second moment, also off the first row/column
    g = np.random.default_rng(7)
    Q = np.stack([linalg.haar_orthonormal(rows, cols, g) for _ in range(5000)])
    np.testing.assert_allclose((Q**2).mean(0), np.full((rows, cols), 1 / rows), atol=0.02)


def test_haar_law_mutation_without_sign_fix_is_biased():
    """Mutation: plain QR (no sign fix) gives Q11 a fixed sign, which the symmetry check detects."""
    def plain_qr(rows, cols, g):
        return np.linalg.qr(g.standard_normal((rows, cols)))[0]

    q = _haar_moments(plain_qr, 4, 2, m=2000)
    assert abs(_z(q, 0.0)) > 20


@pytest.mark.parametrize("rows,cols,match", [(2, 3, "rows >= cols"), (0, 1, "rows"), (3, 0, "cols"),
                                             (2.5, 1, "rows"), (3, True, "cols")])
def test_haar_bad_shape_raises_naming_argument(rows, cols, match):
    with pytest.raises(ValueError, match=match):
        linalg.haar_orthonormal(rows, cols)


# --------------------------------------------------------------------------- psd_solve
def _psd(rng, p, rank):
    A = rng.standard_normal((p, rank))
    return A @ A.T


def _pinv_solve(M, B):
    return np.linalg.pinv(M, rcond=linalg.PSD_RTOL, hermitian=True) @ B


@pytest.mark.parametrize("rank", [6, 4, 0])
def test_psd_solve_equals_pinv_single(rank):
    rng = np.random.default_rng(rank)
    M = _psd(rng, 6, rank)
    B = rng.standard_normal((6, 3))
    X = linalg.psd_solve(M, B)
    assert X.shape == (6, 3)
    np.testing.assert_allclose(X, _pinv_solve(M, B), rtol=1e-8, atol=1e-10)


def test_psd_solve_equals_pinv_on_mixed_batch():
    """One batch holding non-singular and singular matrices (the Cholesky path is refused for the whole batch)."""
    rng = np.random.default_rng(0)
    M = np.stack([_psd(rng, 5, r) for r in (5, 3, 5, 1)])
    B = rng.standard_normal((4, 5, 2))
    X = linalg.psd_solve(M, B)
    for i in range(4):
        np.testing.assert_allclose(X[i], _pinv_solve(M[i], B[i]), rtol=1e-8, atol=1e-10)


def test_psd_solve_non_singular_batch_is_the_inverse():
    rng = np.random.default_rng(1)
    M = np.stack([_psd(rng, 4, 8) + np.eye(4) for _ in range(3)])
    B = rng.standard_normal((3, 4, 2))
    X = linalg.psd_solve(M, B)
    np.testing.assert_allclose(M @ X, B, atol=1e-10)
    np.testing.assert_allclose(X, np.linalg.solve(M, B), rtol=1e-10)


def test_psd_solve_one_matrix_many_right_hand_sides():
    """(p, p) or (1, p, p) with (R, p, 1): factorised once, same numbers as R separate solves."""
    rng = np.random.default_rng(2)
    for rank in (5, 3):
        M = _psd(rng, 5, rank)
        B = rng.standard_normal((7, 5, 1))
        for Mi in (M, M[None]):
            X = linalg.psd_solve(Mi, B)
            assert X.shape == (7, 5, 1)
            np.testing.assert_allclose(X, np.stack([_pinv_solve(M, b) for b in B]), rtol=1e-8, atol=1e-10)


def test_psd_solve_singular_solution_is_minimum_norm():
    """M^+ b lies in the range of M (the minimum-norm least-squares solution)."""
    rng = np.random.default_rng(3)
    M = _psd(rng, 6, 2)
    x = linalg.psd_solve(M, rng.standard_normal((6, 1)))
    w, U = np.linalg.eigh(M)
    null = U[:, w < 1e-9 * w.max()]
    np.testing.assert_allclose(null.T @ x, 0, atol=1e-10)


def test_psd_solve_rtol_drops_small_eigenvalues():
    M = np.diag([1.0, 1e-6])
    B = np.ones((2, 1))
    np.testing.assert_allclose(linalg.psd_solve(M, B, rtol=1e-3), [[1.0], [0.0]])
    np.testing.assert_allclose(linalg.psd_solve(M, B, rtol=1e-12), [[1.0], [1e6]], rtol=1e-9)


@pytest.mark.parametrize("M,B,match", [
    (np.ones((3, 2)), np.ones((3, 1)), "M must be"),
    (np.ones(3), np.ones((3, 1)), "M must be"),
    (np.eye(3), np.ones(3), "B must be"),
    (np.eye(3), np.ones((2, 1)), "B must be"),
    (np.full((2, 2), np.nan), np.ones((2, 1)), "M contains NaN"),
    (np.eye(2), np.array([[np.inf], [0.0]]), "B contains NaN or inf"),
])
def test_psd_solve_bad_input_raises_naming_argument(M, B, match):
    with pytest.raises(ValueError, match=match):
        linalg.psd_solve(M, B)


def test_psd_solve_bad_rtol():
    with pytest.raises(ValueError, match="rtol"):
        linalg.psd_solve(np.eye(2), np.ones((2, 1)), rtol=-1.0)


# --------------------------------------------------------------------------- psd_sqrt
def test_psd_sqrt_squares_back_and_clips_rounding():
    rng = np.random.default_rng(4)
    for rank in (5, 2):
        M = _psd(rng, 5, rank)
        S = linalg.psd_sqrt(M)
        np.testing.assert_allclose(S, S.T, atol=1e-12)
        np.testing.assert_allclose(S @ S, M, atol=1e-10)
        assert np.linalg.eigvalsh(S).min() > -1e-10
    np.testing.assert_allclose(linalg.psd_sqrt(np.diag([4.0, 9.0, -1e-18])), np.diag([2.0, 3.0, 0.0]))


@pytest.mark.parametrize("M", [np.ones((2, 3)), np.ones(3), np.full((2, 2), np.nan)])
def test_psd_sqrt_bad_input_raises_naming_M(M):
    with pytest.raises(ValueError, match="M"):
        linalg.psd_sqrt(M)


# --------------------------------------------------------------------------- xlogx_entropy
def test_entropy_closed_forms_and_zero_convention():
    p = torch.tensor([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, -1e-12]],
                     dtype=torch.float64)
    np.testing.assert_allclose(linalg.xlogx_entropy(p).numpy(), [math.log(4), 0.0, math.log(2)], atol=1e-12)
    np.testing.assert_allclose(linalg.xlogx_entropy(np.array([0.5, 0.5])), math.log(2))


def test_entropy_gradient_is_finite_at_zero():
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64, requires_grad=True)
    linalg.xlogx_entropy(p).backward()
    # d/dp_j of -p log p = -(log p_j + 1); the zero entry gets 0, not NaN
    np.testing.assert_allclose(p.grad.numpy(), [-(math.log(0.5) + 1)] * 2 + [0.0])


def test_entropy_bad_input_raises_naming_p():
    with pytest.raises(TypeError, match="p must"):
        linalg.xlogx_entropy(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="p must"):
        linalg.xlogx_entropy(torch.tensor([1 + 1j]))


# --------------------------------------------------------------------------- isotropic_ls_variance
def test_isotropic_ls_variance_values():
    n = np.array([10, 5, 3, 4, 5, 0, 20])
    p = np.array([3, 5, 10, 5, 4, 7, 40])
    expect = [3 / 6, np.inf, 3 / 6, np.inf, np.inf, 0.0, 20 / 19]
    np.testing.assert_allclose(linalg.isotropic_ls_variance(n, p), expect)
    assert linalg.isotropic_ls_variance(12, 2) == pytest.approx(2 / 9)
    assert linalg.isotropic_ls_variance([[8], [9]], [1, 2]).shape == (2, 2)


def test_isotropic_ls_variance_is_the_inverse_wishart_moment():
    """Monte Carlo of tr((X^T X)^{-1}) (n >= p + 2) and tr((X X^T)^{-1}) (n <= p - 2) for Gaussian X."""
    rng = np.random.default_rng(0)
    for n, p in [(12, 4), (3, 9)]:
        X = rng.standard_normal((20000, n, p))
        G = X.transpose(0, 2, 1) @ X if n > p else X @ X.transpose(0, 2, 1)
        tr = np.trace(np.linalg.inv(G), axis1=1, axis2=2)
        assert abs(_z(tr, float(linalg.isotropic_ls_variance(n, p)))) < 4, (n, p)


@pytest.mark.parametrize("n,p,match", [(-1, 3, "n"), (3, -2, "p"), (np.nan, 3, "n"), (3, np.inf, "p")])
def test_isotropic_ls_variance_bad_input_raises_naming_argument(n, p, match):
    with pytest.raises(ValueError, match=match):
        linalg.isotropic_ls_variance(n, p)
