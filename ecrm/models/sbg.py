"""The shifted-beta-geometric (sBG) retention model of Fader & Hardie (2007).

Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention",
*Journal of Interactive Marketing* 21(1), 76–90. Each subscriber renews every
period (a 定期 delivery) with their own probability ``1 - θ``; ``θ`` varies
across subscribers as Beta(α, β). Retention then rises with tenure — the
subscribers who cancel easily leave first — which is what 定期継続率 by delivery
count shows, and what a constant churn rate cannot project.

With ``T`` the number of periods (deliveries) a subscription lasts, ``T ≥ 1``:

* ``P(T = t) = B(α + 1, β + t - 1) / B(α, β)``
* ``S(t) = P(T > t) = B(α, β + t) / B(α, β)``, ``S(0) = 1``
* retention from period ``t - 1`` to ``t``: ``r(t) = (β + t - 1) / (α + β + t - 1)``

:class:`ShiftedBetaGeometric` learns α and β by maximum likelihood from
lifetimes that ended (``T = t`` observed) and lifetimes still running
(``T > t`` known, right-censored), which is what start-month cohorts give: an
older cohort is observed for more deliveries than a newer one.

Example
-------
>>> m = ShiftedBetaGeometric().fit_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
>>> round(m.alpha_, 3), round(m.beta_, 3)
(0.668, 3.806)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln

from ecrm.errors import ModelFitError, ParameterError

__all__ = ["ShiftedBetaGeometric", "survivor_counts"]


def survivor_counts(survivors: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lifetimes of one cohort from its survivor counts at periods 0, 1, …, n.

    Parameters
    ----------
    survivors : sequence of numbers
        Subscribers still active at the start (period 0, the cohort's size) and
        after each period, non-increasing (e.g. the paper's 1000, 631, 468…).

    Returns
    -------
    (t, count, censored) : three arrays
        ``count[i]`` lifetimes with ``T = t[i]`` where ``censored[i]`` is False
        (they ended in period ``t[i]``), and the survivors of the last period
        as ``T > n`` (``censored`` True).

    Raises
    ------
    ParameterError
        Fewer than two counts, a negative count or an increase.
    """
    s = np.asarray(survivors, dtype=float)
    if s.ndim != 1 or len(s) < 2:
        raise ParameterError("survivors needs the cohort size and at least one later count")
    if (s < 0).any() or (np.diff(s) > 0).any():
        raise ParameterError(f"survivor counts must be non-negative and non-increasing: {s}")
    n = len(s) - 1
    t = np.arange(1, n + 1, dtype=float)
    ended = s[:-1] - s[1:]
    return (
        np.concatenate([t, [n]]),
        np.concatenate([ended, [s[-1]]]),
        np.concatenate([np.zeros(n, bool), [True]]),
    )


class ShiftedBetaGeometric:
    """Shifted-beta-geometric retention model, fitted by maximum likelihood.

    Learned attributes (after :meth:`fit`): ``alpha_``, ``beta_``,
    ``log_likelihood_`` and ``n_`` (the lifetimes it was fitted on).

    Example
    -------
    >>> m = ShiftedBetaGeometric().fit(t=[1, 2, 2], count=[30, 20, 50], censored=[0, 0, 1])
    >>> bool(0 < m.retention_rate(1) < m.retention_rate(2) < 1)
    True
    """

    def fit(
        self,
        *,
        t: Sequence[float],
        count: Sequence[float],
        censored: Sequence[bool],
    ) -> ShiftedBetaGeometric:
        """Learn α and β from lifetimes that ended and lifetimes still running.

        Parameters
        ----------
        t : sequence of int
            Periods: for an ended lifetime the period it ended in (``T = t``,
            t ≥ 1); for a running one the periods it is known to have
            outlasted (``T > t``, t ≥ 0).
        count : sequence of numbers
            How many lifetimes each row stands for (weights, ≥ 0).
        censored : sequence of bool
            True where the lifetime is still running.

        Returns
        -------
        ShiftedBetaGeometric
            ``self``, fitted.

        Raises
        ------
        ParameterError
            Arrays of different lengths, negative counts, an ended lifetime
            with t < 1, or no ended lifetime at all (nothing to learn from).
        ModelFitError
            The optimiser did not converge.
        """
        tt = np.asarray(t, dtype=float)
        w = np.asarray(count, dtype=float)
        cens = np.asarray(censored, dtype=bool)
        if not (tt.shape == w.shape == cens.shape) or tt.ndim != 1:
            raise ParameterError("t, count and censored must be 1-d and of one length")
        if (w < 0).any():
            raise ParameterError("counts must be non-negative")
        if (tt[~cens] < 1).any() or (tt[cens] < 0).any():
            raise ParameterError("an ended lifetime lasts at least one period (t >= 1)")
        if w[~cens].sum() <= 0:
            raise ParameterError("no ended lifetime: α and β cannot be estimated")

        def nll(theta: np.ndarray) -> float:
            a, b = np.exp(theta)
            base = betaln(a, b)
            ll_end = betaln(a + 1, b + tt[~cens] - 1) - base
            ll_run = betaln(a, b + tt[cens]) - base
            return -float(w[~cens] @ ll_end + w[cens] @ ll_run)

        best = None
        for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)):
            res = minimize(
                nll,
                np.array(start),
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 10_000},
            )
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        if not best.success or not np.isfinite(best.fun):
            raise ModelFitError(f"the sBG fit did not converge: {best.message}")
        self.alpha_, self.beta_ = (float(v) for v in np.exp(best.x))
        self.log_likelihood_ = -float(best.fun)
        self.n_ = float(w.sum())
        return self

    def fit_survivors(self, survivors: Sequence[float]) -> ShiftedBetaGeometric:
        """:meth:`fit` on one cohort's survivor counts (see :func:`survivor_counts`)."""
        t, count, censored = survivor_counts(survivors)
        return self.fit(t=t, count=count, censored=censored)

    def _check(self) -> tuple[float, float]:
        if not hasattr(self, "alpha_"):
            raise ParameterError("fit the model first (ShiftedBetaGeometric().fit(...))")
        return self.alpha_, self.beta_

    def survival(self, t: float | Sequence[float]) -> np.ndarray:
        """``S(t) = P(T > t)``: the share of a cohort still active after ``t`` periods."""
        a, b = self._check()
        tt = np.asarray(t, dtype=float)
        return np.exp(betaln(a, b + tt) - betaln(a, b))

    def pmf(self, t: float | Sequence[float]) -> np.ndarray:
        """``P(T = t)``: the share of a cohort that cancels in period ``t`` (t ≥ 1)."""
        a, b = self._check()
        tt = np.asarray(t, dtype=float)
        return np.exp(betaln(a + 1, b + tt - 1) - betaln(a, b))

    def retention_rate(self, t: float | Sequence[float]) -> np.ndarray:
        """``r(t) = S(t) / S(t - 1)``: of those active after ``t - 1`` periods, who renew."""
        a, b = self._check()
        tt = np.asarray(t, dtype=float)
        return (b + tt - 1) / (a + b + tt - 1)

    def expected_periods(self, *, horizon: int | None = None, discount: float = 0.0) -> float:
        """Expected periods a new subscription is paid for: ``Σ_{t=0}^{H-1} S(t) / (1+d)^t``.

        Parameters
        ----------
        horizon : int, optional
            Count at most this many periods (deliveries); None for a lifetime,
            which is finite only for α > 1 (then ``(α + β - 1) / (α - 1)``
            undiscounted) or with a discount rate.
        discount : float, default 0
            Discount rate per period (Fader & Hardie's discounted expected
            lifetime, DEL, when > 0).

        Raises
        ------
        ParameterError
            ``horizon`` < 1, a negative discount, or an infinite expectation
            (no horizon, no discount and α ≤ 1).
        """
        a, b = self._check()
        if discount < 0:
            raise ParameterError(f"discount must be >= 0, got {discount}")
        if horizon is not None:
            if horizon < 1:
                raise ParameterError(f"horizon must be at least 1 period, got {horizon}")
            t = np.arange(horizon, dtype=float)
            return float((self.survival(t) / (1 + discount) ** t).sum())
        if discount == 0:
            if a <= 1:
                raise ParameterError(
                    f"the expected lifetime is infinite for alpha <= 1 (alpha = {a:.3f}): "
                    "give a horizon or a discount rate"
                )
            return (a + b - 1) / (a - 1)
        # discounted: sum until the terms no longer matter
        total, t, step = 0.0, 0, 10_000
        while True:
            ts = np.arange(t, t + step, dtype=float)
            part = self.survival(ts) * np.exp(-ts * np.log1p(discount))
            total += float(part.sum())
            if part[-1] < 1e-12:
                return total
            t += step
