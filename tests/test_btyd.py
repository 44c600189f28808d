"""Tests of ecrm.models.btyd: likelihoods by hand, gradients, maximum likelihood, predictions.

The fit is checked three ways: the log-likelihood against a direct evaluation
of the papers' formulas with ``math.lgamma``; the parameters of a simulation
recovered; and the optimum against pymc-marketing's MAP fit (flat priors) on
the demo shop, which maximises the same likelihood with PyTensor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special

from ecrm.models import btyd, predict
from tests.test_predict import synthetic_rfm

BG = {"r": 0.7, "alpha": 50.0, "a": 1.3, "b": 2.1}
GG = {"p": 3.0, "q": 4.0, "v": 2000.0}


def _bg_by_hand(x: float, tx: float, T: float, r: float, alpha: float, a: float, b: float) -> float:
    """Fader, Hardie & Lee (2005), eq. 6, term by term."""
    beta = lambda u, w: math.lgamma(u) + math.lgamma(w) - math.lgamma(u + w)  # noqa: E731
    a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    a2 = beta(a, b + x) - beta(a, b)
    a3 = (alpha + T) ** -(r + x)
    a4 = a / (b + x - 1) * (alpha + tx) ** -(r + x) if x > 0 else 0.0
    return a1 + a2 + math.log(a3 + a4)


def _gg_by_hand(x: float, m: float, p: float, q: float, v: float) -> float:
    """Fader & Hardie (2013): the density of the mean spend m of x purchases."""
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(v)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(x * m + v)
    )


def test_bgnbd_loglik_by_hand() -> None:
    cases = [(0, 0, 30), (1, 10, 30), (4, 200, 365), (12, 700, 720)]
    x, tx, T = (np.array(c, float) for c in zip(*cases, strict=True))
    ll, _ = btyd.bgnbd_loglik(BG, x, tx, T)
    want = [_bg_by_hand(*c, **BG) for c in cases]
    np.testing.assert_allclose(ll, want, rtol=1e-12)


def test_gamma_gamma_loglik_by_hand() -> None:
    cases = [(1, 1500.0), (3, 800.0), (10, 12000.5)]
    x, m = (np.array(c, float) for c in zip(*cases, strict=True))
    ll, _ = btyd.gamma_gamma_loglik(GG, x, m)
    np.testing.assert_allclose(ll, [_gg_by_hand(*c, **GG) for c in cases], rtol=1e-12)


def test_terms_of_x_alone_are_gathered_back_to_their_rows() -> None:
    """Special functions of x run once per distinct x; each row gets its own back.

    Shuffled, repeated x: every row's likelihood and gradient equal those of the
    row evaluated alone, with the levels found or given.
    """
    rfm = synthetic_rfm(200).sample(frac=1.0, random_state=3)
    x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    assert len(np.unique(x)) < len(x) / 4
    lv = np.unique(x, return_inverse=True)
    for ll, grad in (btyd.bgnbd_loglik(BG, x, tx, T), btyd.bgnbd_loglik(BG, x, tx, T, x_levels=lv)):
        alone = [
            btyd.bgnbd_loglik(BG, x[i : i + 1], tx[i : i + 1], T[i : i + 1]) for i in range(len(x))
        ]
        np.testing.assert_array_equal(ll, [a[0][0] for a in alone])
        np.testing.assert_array_equal(grad, np.hstack([a[1] for a in alone]))
    s = rfm[rfm["frequency"] > 0]
    xs, ms = s["frequency"].to_numpy(float), s["monetary_value"].to_numpy(float)
    ll, grad = btyd.gamma_gamma_loglik(GG, xs, ms)
    alone = [btyd.gamma_gamma_loglik(GG, xs[i : i + 1], ms[i : i + 1]) for i in range(len(xs))]
    np.testing.assert_array_equal(ll, [a[0][0] for a in alone])
    np.testing.assert_array_equal(grad, np.hstack([a[1] for a in alone]))


def test_gradients_match_finite_differences() -> None:
    rfm = synthetic_rfm(300)
    x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))

    def ll(v: np.ndarray) -> float:
        return btyd.bgnbd_loglik(dict(zip(btyd.BG_PARAMS, v, strict=True)), x, tx, T)[0].sum()

    def grad(v: np.ndarray) -> np.ndarray:
        return btyd.bgnbd_loglik(dict(zip(btyd.BG_PARAMS, v, strict=True)), x, tx, T)[1].sum(1)

    v0 = np.array(list(BG.values()))
    assert optimize.check_grad(ll, grad, v0, epsilon=1e-6) < 1e-4 * np.linalg.norm(grad(v0))
    s = rfm[rfm["frequency"] > 0]
    xs, ms = s["frequency"].to_numpy(float), s["monetary_value"].to_numpy(float)

    def ll2(v: np.ndarray) -> float:
        return btyd.gamma_gamma_loglik(dict(zip(btyd.GG_PARAMS, v, strict=True)), xs, ms)[0].sum()

    def grad2(v: np.ndarray) -> np.ndarray:
        pars = dict(zip(btyd.GG_PARAMS, v, strict=True))
        return btyd.gamma_gamma_loglik(pars, xs, ms)[1].sum(1)

    v0 = np.array(list(GG.values()))
    assert optimize.check_grad(ll2, grad2, v0, epsilon=1e-5) < 1e-4 * np.linalg.norm(grad2(v0))


def test_compressed_rows_are_numpys_unique_rows() -> None:
    """Distinct (x, tx, T) rows and their counts, in np.unique's lexicographic order."""
    rng = np.random.default_rng(3)
    cols = [rng.integers(0, k, 5_000).astype(float) for k in (4, 30, 50)]
    cols[1][:7] = 2.5  # a fraction, and rows that differ in the last column only
    (a, b, c), w = btyd._compress(*cols)
    uniq, counts = np.unique(np.column_stack(cols), axis=0, return_counts=True)
    assert len(w) < 5_000 and w.sum() == 5_000
    np.testing.assert_array_equal(np.column_stack([a, b, c]), uniq)
    np.testing.assert_array_equal(w, counts)


def test_maximum_likelihood_recovers_a_simulation() -> None:
    """20,000 customers simulated with r 0.5, α 20, a 2, b 6 and p 3, q 4, v 2000."""
    rfm = synthetic_rfm(20_000, seed=11)
    x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    bg = btyd.fit_bgnbd(x, tx, T)
    assert bg == pytest.approx({"r": 0.5, "alpha": 20.0, "a": 2.0, "b": 6.0}, rel=0.15)
    s = rfm[rfm["frequency"] > 0]
    gg = btyd.fit_gamma_gamma(s["frequency"].to_numpy(float), s["monetary_value"].to_numpy(float))
    assert gg == pytest.approx({"p": 3.0, "q": 4.0, "v": 2000.0}, rel=0.15)
    # a maximum: every small step away lowers the likelihood
    best = btyd.bgnbd_loglik(bg, x, tx, T)[0].sum()
    for k in bg:
        for f in (0.99, 1.01):
            assert btyd.bgnbd_loglik({**bg, k: bg[k] * f}, x, tx, T)[0].sum() < best


def test_euler_transformation_where_hyp2f1_overflows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ₂F₁ overflows the transformed form takes over, with the same values."""
    x = np.array([5.0, 100.0, 300.0])
    tx, T = np.array([300.0, 900.0, 990.0]), np.array([1000.0] * 3)
    direct = btyd.expected_purchases(BG, 365.0, x, tx, T)

    class Overflowing:
        def __getattr__(self, name: str) -> object:
            return getattr(special, name)

        @staticmethod
        def hyp2f1(a, b, c, z):  # the direct call's first argument is r + x
            return np.where(np.asarray(a) > 50, np.inf, special.hyp2f1(a, b, c, z))

    monkeypatch.setattr(btyd, "special", Overflowing())
    np.testing.assert_allclose(btyd.expected_purchases(BG, 365.0, x, tx, T), direct, rtol=1e-9)


def test_expected_spend_shrinks_towards_the_population_mean() -> None:
    x, m = np.array([0.0, 1.0, 50.0]), np.array([0.0, 9000.0, 9000.0])
    es = btyd.expected_spend(GG, x, m)
    mean = GG["v"] * GG["p"] / (GG["q"] - 1)
    assert es[0] == pytest.approx(mean)
    w = 3.0 / (3.0 + 3.0)  # p·x / (p·x + q − 1) for x = 1
    assert es[1] == pytest.approx((1 - w) * mean + w * 9000.0)
    assert mean < es[1] < es[2] < 9000.0


@pytest.mark.slow
def test_same_optimum_as_pymc_marketing_map(demo_root: Path) -> None:
    """pymc-marketing's MAP fit (flat priors) maximises the same likelihood."""
    clv = pytest.importorskip("pymc_marketing.clv")
    from pymc_extras.prior import Prior

    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    rfm = predict.rfm_summary(path, as_of="2026-10-31")
    x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    ours = btyd.fit_bgnbd(x, tx, T)
    model = clv.BetaGeoModel(model_config={k: Prior("HalfFlat") for k in btyd.BG_PARAMS})
    model.fit(
        data=rfm[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False
    )
    theirs = {k: float(model.fit_result[k].mean()) for k in btyd.BG_PARAMS}
    assert ours == pytest.approx(theirs, rel=2e-3)
    ll = lambda p: btyd.bgnbd_loglik(p, x, tx, T)[0].sum()  # noqa: E731
    assert ll(ours) >= ll(theirs) - 1e-6 * abs(ll(theirs))
    s = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    ours = btyd.fit_gamma_gamma(s["frequency"].to_numpy(float), s["monetary_value"].to_numpy(float))
    gg = clv.GammaGammaModel(model_config={k: Prior("HalfFlat") for k in btyd.GG_PARAMS})
    gg.fit(data=s[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False)
    theirs = {k: float(gg.fit_result[k].mean()) for k in btyd.GG_PARAMS}
    assert ours == pytest.approx(theirs, rel=2e-3)
