"""The sBG retention model against Fader & Hardie (2007), by hand and by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from ecrm.errors import ParameterError
from ecrm.models.sbg import ShiftedBetaGeometric, survivor_counts

# Fader & Hardie (2007), "How to project customer retention", Table 1: active
# customers of 1,000 at the start of years 0-12, for two groups. The model is
# fitted to years 0-7 (as in the paper) and projects years 8-12.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


@pytest.mark.parametrize(
    ("survivors", "alpha", "beta", "ll"),
    [(REGULAR, 0.704, 1.182, -1680.3), (HIGH_END, 0.668, 3.806, -1611.2)],
    ids=["regular", "high end"],
)
def test_the_papers_estimates(survivors, alpha, beta, ll):
    m = ShiftedBetaGeometric().fit_survivors(survivors[:8])
    assert round(m.alpha_, 3) == alpha
    assert round(m.beta_, 3) == beta
    assert round(m.log_likelihood_, 1) == ll
    assert m.n_ == 1000


@pytest.mark.parametrize("survivors", [REGULAR, HIGH_END], ids=["regular", "high end"])
def test_the_projection_follows_the_later_years(survivors):
    """Fitted on 7 years, years 8-12 are projected within 5% (the paper's Figure 3)."""
    m = ShiftedBetaGeometric().fit_survivors(survivors[:8])
    projected = 1000 * m.survival(np.arange(8, 13))
    actual = np.array(survivors[8:], dtype=float)
    assert np.all(np.abs(projected / actual - 1) < 0.05), projected.round(1)
    assert np.all(projected <= actual)  # the model projects slightly low in both groups


def test_closed_forms_by_hand():
    """α = β = 1: S(t) = 1/(t+1), P(T=t) = 1/(t(t+1)), r(t) = t/(t+1)."""
    m = ShiftedBetaGeometric()
    m.alpha_, m.beta_ = 1.0, 1.0
    t = np.array([1.0, 2.0, 3.0, 9.0])
    np.testing.assert_allclose(m.survival(t), 1 / (t + 1))
    np.testing.assert_allclose(m.pmf(t), 1 / (t * (t + 1)))
    np.testing.assert_allclose(m.retention_rate(t), t / (t + 1))
    assert m.survival(0) == pytest.approx(1.0)
    # horizon 3: S(0) + S(1) + S(2) = 1 + 1/2 + 1/3
    assert m.expected_periods(horizon=3) == pytest.approx(1 + 1 / 2 + 1 / 3)
    with pytest.raises(ParameterError, match="infinite"):
        m.expected_periods()


def test_expected_periods_closed_form_and_discount():
    m = ShiftedBetaGeometric()
    m.alpha_, m.beta_ = 2.5, 4.0
    assert m.expected_periods() == pytest.approx((2.5 + 4.0 - 1) / 1.5)
    assert m.expected_periods(horizon=100_000) == pytest.approx(m.expected_periods(), rel=1e-4)
    d = m.expected_periods(discount=0.1)
    assert 1 < d < m.expected_periods()
    t = np.arange(2000, dtype=float)
    assert d == pytest.approx(float((m.survival(t) / 1.1**t).sum()))


def test_survivors_become_ended_and_running_lifetimes():
    t, count, censored = survivor_counts([10, 6, 5])
    assert t.tolist() == [1, 2, 2]
    assert count.tolist() == [4, 1, 5]
    assert censored.tolist() == [False, False, True]
    with pytest.raises(ParameterError, match="non-increasing"):
        survivor_counts([10, 11])


def test_cohorts_observed_for_different_lengths_pool_into_one_likelihood():
    """Two half cohorts give the estimates of the whole; a shorter view still fits."""
    whole = ShiftedBetaGeometric().fit_survivors(HIGH_END[:8])
    halves = [survivor_counts(np.array(HIGH_END[:8]) / 2) for _ in range(2)]
    t, count, censored = (np.concatenate(x) for x in zip(*halves, strict=True))
    pooled = ShiftedBetaGeometric().fit(t=t, count=count, censored=censored)
    assert pooled.alpha_ == pytest.approx(whole.alpha_, rel=1e-5)
    assert pooled.beta_ == pytest.approx(whole.beta_, rel=1e-5)


def test_recovers_simulated_parameters():
    """Subscribers with θ ~ Beta(0.8, 2.5), start cohorts observed 24 down to 1 periods."""
    rng = np.random.default_rng(7)
    alpha, beta = 0.8, 2.5
    rows_t, rows_c = [], []
    for age in range(24, 0, -1):  # one start cohort per month, the newest seen one period
        theta = rng.beta(alpha, beta, size=2000)
        life = rng.geometric(theta)  # T >= 1
        ended = life <= age
        rows_t += [life[ended], np.full((~ended).sum(), age)]
        rows_c += [np.zeros(ended.sum(), bool), np.ones((~ended).sum(), bool)]
    t, censored = np.concatenate(rows_t), np.concatenate(rows_c)
    # one row per (lifetime, censored) with its count: the same likelihood (pooling
    # is proven equal above), fitted in milliseconds instead of over 48,000 rows
    (t, censored), count = np.unique(np.stack([t, censored]), axis=1, return_counts=True)
    m = ShiftedBetaGeometric().fit(t=t, count=count, censored=censored.astype(bool))
    assert m.alpha_ == pytest.approx(alpha, rel=0.1)
    assert m.beta_ == pytest.approx(beta, rel=0.1)


def test_refuses_what_it_cannot_learn_from():
    with pytest.raises(ParameterError, match="no ended lifetime"):
        ShiftedBetaGeometric().fit(t=[3], count=[10], censored=[True])
    with pytest.raises(ParameterError, match="at least one period"):
        ShiftedBetaGeometric().fit(t=[0, 2], count=[1, 1], censored=[False, True])
    with pytest.raises(ParameterError, match="fit the model first"):
        ShiftedBetaGeometric().survival(1)


def test_the_docstring_examples():
    import doctest

    import ecrm.models.sbg

    assert doctest.testmod(ecrm.models.sbg).failed == 0
