"""Residual-error models (pharmsim.residual): moments against their definitions, reproducibility, checks.

Statistical checks use n = 200,000 draws with a fixed seed; the tolerance (1 %) is over 10 standard errors of an
SD estimate (SE of a sample SD ~ SD / sqrt(2 n) = 0.16 %), so a wrong model fails and a right one does not
fail by chance."""

import numpy as np
import pytest

from pharmsim.residual import ResidualError
from pharmsim.validate import PharmsimError

N = 200_000


@pytest.mark.parametrize("model,kw,sd_at_10", [
    ("additive", {"additive_sd": 0.5}, 0.5),
    ("proportional", {"proportional_sd": 0.2}, 2.0),
    ("combined", {"additive_sd": 0.5, "proportional_sd": 0.2}, np.sqrt(0.25 + 4.0)),
])
def test_normal_models_have_the_stated_mean_and_sd(model, kw, sd_at_10):
    e = ResidualError(model, **kw)
    y = e.sample(np.full(N, 10.0), np.random.default_rng(1))
    assert abs(y.mean() - 10.0) < 10 * sd_at_10 / np.sqrt(N)
    assert y.std() == pytest.approx(sd_at_10, rel=0.01)
    np.testing.assert_allclose(e.sd(np.array([10.0])), sd_at_10)


def test_exponential_is_lognormal_and_draws_are_reproducible():
    e = ResidualError("exponential", log_sd=0.3)
    y = e.sample(np.full(N, 10.0), np.random.default_rng(2))
    assert (y > 0).all() and np.log(y).std() == pytest.approx(0.3, rel=0.01)
    a = e.sample(np.arange(1.0, 5.0), np.random.default_rng(5))
    np.testing.assert_array_equal(a, e.sample(np.arange(1.0, 5.0), 5))       # an int seed = default_rng(seed)


def test_lloq_clip_and_bad_arguments():
    e = ResidualError("additive", additive_sd=1.0, lloq=0.5, clip_at_zero=True)
    y = e.sample(np.zeros(1000), np.random.default_rng(3))
    assert y.min() == 0.0 and e.blq(y).mean() > 0.5
    with pytest.raises(PharmsimError, match="rng must be a numpy.random.Generator"):
        e.sample([1.0], None)
    with pytest.raises(PharmsimError, match="log_sd is not used by the 'additive' model"):
        ResidualError("additive", log_sd=0.1)
    with pytest.raises(PharmsimError, match="model must be one of"):
        ResidualError("poisson")
    with pytest.raises(PharmsimError, match="additive_sd must be a finite number >= 0"):
        ResidualError("additive", additive_sd=-1.0)
