"""mylib.stats: exact values on small samples, shapes, and bad input raising with the argument's name."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mylib import stats


def test_mean_se_values():
    mean, se = stats.mean_se([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    assert se == pytest.approx(math.sqrt(5 / 3) / 2)  # s^2 = 5/3, m = 4


def test_mean_se_along_axis_and_torch():
    x = np.array([[1.0, 10.0], [3.0, 14.0], [5.0, 12.0]])
    mean, se = stats.mean_se(x)
    np.testing.assert_allclose(mean, [3.0, 12.0])
    np.testing.assert_allclose(se, [2 / math.sqrt(3), 2 / math.sqrt(3)])
    mean1, se1 = stats.mean_se(x, axis=1)
    np.testing.assert_allclose(mean1, [5.5, 8.5, 8.5])
    np.testing.assert_allclose(se1, [4.5, 5.5, 3.5])  # |a - b| / 2 for two values
    m_t, s_t = stats.mean_se(torch.tensor(x, requires_grad=True))
    np.testing.assert_allclose(m_t, mean)
    np.testing.assert_allclose(s_t, se)


def test_mean_se_is_the_sd_of_the_mean():
    """Mutation guard: ddof=0 or dividing by m instead of sqrt(m) would miss the spread of means over repeats."""
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((4000, 10))
    means = samples.mean(1)
    se = stats.mean_se(samples, axis=1)[1]
    assert np.mean(se**2) == pytest.approx(means.var(ddof=1), rel=0.05)


@pytest.mark.parametrize("x,match", [([1.0], "at least 2"), (3.0, "at least 2"), ([1.0, np.nan], "x contains NaN"),
                                     (np.ones((1, 3)), "at least 2")])
def test_mean_se_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        stats.mean_se(x)


def test_mean_se_bad_axis_and_complex():
    with pytest.raises(ValueError, match="axis 2"):
        stats.mean_se(np.ones((3, 3)), axis=2)
    with pytest.raises(TypeError, match="axis"):
        stats.mean_se(np.ones((3, 3)), axis=1.0)
    with pytest.raises(TypeError, match="x must be real"):
        stats.mean_se([1 + 1j, 2.0])


def test_mc_agreement_values():
    r = stats.mc_agreement([[1.0, 2.0, 5.0], [3.0, 4.0, 5.0]], [1.0, 3.0, 0.0])
    np.testing.assert_allclose(r["mean"], [2.0, 3.0, 5.0])
    np.testing.assert_allclose(r["se"], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(r["theory"], [1.0, 3.0, 0.0])
    np.testing.assert_allclose(r["z"], [1.0, 0.0, np.nan])
    np.testing.assert_allclose(r["rel"], [1.0, 0.0, np.nan])


def test_mc_agreement_detects_a_wrong_closed_form():
    """A correct closed form gives |z| < 4; the same samples against a 5 % wrong one give |z| >> 4 (mutation)."""
    rng = np.random.default_rng(1)
    samples = rng.exponential(2.0, size=(20000, 3))
    ok = stats.mc_agreement(samples, 2.0)
    assert np.all(np.abs(ok["z"]) < 4) and np.all(ok["rel"] < 0.05)
    wrong = stats.mc_agreement(samples, 2.1)
    assert np.all(np.abs(wrong["z"]) > 4)


def test_mc_agreement_bad_input_names_argument():
    with pytest.raises(ValueError, match="samples"):
        stats.mc_agreement([1.0], 1.0)
    with pytest.raises(ValueError, match="samples contains NaN"):
        stats.mc_agreement([1.0, np.nan], 1.0)
    with pytest.raises(ValueError, match="theory contains NaN"):
        stats.mc_agreement([1.0, 2.0], np.nan)
    with pytest.raises(ValueError, match="theory with shape"):
        stats.mc_agreement(np.ones((4, 2)), [1.0, 2.0, 3.0])


def test_paired_difference_values():
    r = stats.paired_difference([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])  # d = 2, 3, 4
    assert r == pytest.approx({"mean": 3.0, "se": 1 / math.sqrt(3), "sd": 1.0, "n": 3, "z": 3 * math.sqrt(3)})
    assert isinstance(r["n"], int) and isinstance(r["mean"], float)
    same = stats.paired_difference([1.0, 2.0], [0.0, 1.0])
    assert same["se"] == 0 and math.isnan(same["z"])


def test_pairing_removes_shared_variation():
    """Mutation guard: an unpaired SE would be ~100x larger for two methods sharing the seed effect."""
    rng = np.random.default_rng(2)
    seed_effect = 10 * rng.standard_normal(50)
    a = seed_effect + 1.0 + 0.1 * rng.standard_normal(50)
    b = seed_effect + 0.1 * rng.standard_normal(50)
    r = stats.paired_difference(a, b)
    assert r["mean"] == pytest.approx(1.0, abs=0.1) and r["z"] > 20
    unpaired_se = math.hypot(stats.mean_se(a)[1], stats.mean_se(b)[1])
    assert unpaired_se > 20 * r["se"]


def test_paired_difference_bad_input_names_argument():
    with pytest.raises(ValueError, match="a and b must be paired"):
        stats.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2 pairs"):
        stats.paired_difference([1.0], [2.0])
    with pytest.raises(ValueError, match="b contains NaN"):
        stats.paired_difference([1.0, 2.0], [np.nan, 2.0])


def test_describe_values():
    r = stats.describe(np.arange(11.0))
    assert r == pytest.approx({"mean": 5.0, "se": math.sqrt(11.0) / math.sqrt(11), "sd": math.sqrt(11.0),
                               "median": 5.0, "q10": 1.0, "q90": 9.0, "n": 11})


@pytest.mark.parametrize("x", [[1.0], np.ones((2, 2)), [1.0, np.nan]])
def test_describe_bad_input_names_x(x):
    with pytest.raises(ValueError, match="x"):
        stats.describe(x)


def test_paired_verdict_names_a_direction_only_beyond_the_noise():
    assert stats.paired_verdict([1.0, 1.2, 0.9, 1.1]) == "above"  # mean 1.05, SE 0.065
    assert stats.paired_verdict([-1.0, -1.2, -0.9, -1.1]) == "below"
    assert stats.paired_verdict(np.zeros(5)) == "the same runs as" == stats.paired_verdict([0.0])
    assert stats.paired_verdict([3.0]) == "untested (1 seed, no standard error) against"  # a dry run's single seed
    # mean 0.25, SE 0.48: a positive sign inside the noise is not a direction
    assert stats.paired_verdict([1.0, -0.5, 1.5, -1.0]) == "within 2 SE of"
    # the threshold matters: mean 0.5, SE 0.23 (z = 2.17) passes at 2 SE, not at 3
    d = [0.1, 0.9, 0.1, 0.9]
    p = stats.paired_difference(d, np.zeros(4))
    assert 2 < p["z"] < 3
    assert stats.paired_verdict(d) == "above" and stats.paired_verdict(d, threshold=3) == "within 3 SE of"


@pytest.mark.parametrize("d, kw, match", [([], {}, "at least 1"),
                                          ([1.0, np.nan], {}, "d contains NaN"), ([1.0, 2.0], {"threshold": 0}, "threshold"),
                                          ([1.0, 2.0], {"threshold": np.inf}, "threshold")])
def test_paired_verdict_bad_input(d, kw, match):
    with pytest.raises(ValueError, match=match):
        stats.paired_verdict(d, **kw)
