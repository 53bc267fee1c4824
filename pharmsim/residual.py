"""Residual-error models for simulated observations (what a measured concentration adds to the model's).

For a prediction ``f`` (IPRED) and independent standard normal draws ``e1, e2`` from an explicit
:class:`numpy.random.Generator` (there is no hidden seed), the observation ``y`` is (NONMEM's conventions,
Beal, Sheiner, Boeckmann & Bauer, NONMEM Users Guide; nlmixr2's ``add``, ``prop``, ``add + prop``,
``lnorm``):

==================  =====================================  =========================================
model               y                                      Var(y | f)
==================  =====================================  =========================================
``additive``        ``f + a e1``                           ``a^2``
``proportional``    ``f (1 + b e1)``                       ``(b f)^2``
``combined``        ``f + sqrt(a^2 + (b f)^2) e1``         ``a^2 + (b f)^2`` (NONMEM's
                                                           ``Y = F + F*EPS(1) + EPS(2)``; nlmixr2's
                                                           ``combined2``)
``exponential``     ``f exp(c e1)``                        log-normal: ``SD(ln y) = c``
==================  =====================================  =========================================

``a`` is in the unit of the prediction, ``b`` and ``c`` are fractions (a CV of 20 % is ``b = 0.2``). With
``lloq`` an observation below it is reported as censored (``blq``); its value is kept (NONMEM's M3 method
needs it flagged, not dropped). Additive and combined errors can give negative values; they are kept as
drawn (clipping would bias the mean) unless ``clip_at_zero``.

Not for: model parameters' variability (see :mod:`pharmsim.population`) or fitting (see :mod:`pharmsim.fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validate import PharmsimError, require_choice, require_finite, require_number

__all__ = ["RESIDUAL_MODELS", "ResidualError"]

RESIDUAL_MODELS = ("additive", "proportional", "combined", "exponential")


def _generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise PharmsimError(f"rng must be a numpy.random.Generator or an int seed >= 0 (pharmsim has no hidden "
                            f"seed); got {rng!r}")
    return np.random.default_rng(int(rng))


@dataclass(frozen=True)
class ResidualError:
    """A residual-error model (module docstring).

    Parameters
    ----------
    model : {'additive', 'proportional', 'combined', 'exponential'}
    additive_sd : float
        ``a``, in the unit of the prediction (additive, combined).
    proportional_sd : float
        ``b``, a fraction (proportional, combined).
    log_sd : float
        ``c``, SD of ``ln y`` (exponential).
    lloq : float
        Lower limit of quantification (unit of the prediction); 0: none.
    clip_at_zero : bool
        Replace negative draws by 0 (off by default: it biases the mean).
    """

    model: str = "proportional"
    additive_sd: float = 0.0
    proportional_sd: float = 0.0
    log_sd: float = 0.0
    lloq: float = 0.0
    clip_at_zero: bool = False

    def __post_init__(self):
        require_choice("model", self.model, RESIDUAL_MODELS)
        for name in ("additive_sd", "proportional_sd", "log_sd", "lloq"):
            object.__setattr__(self, name, require_number(name, getattr(self, name), minimum=0))
        need = {"additive": ("additive_sd",), "proportional": ("proportional_sd",),
                "combined": ("additive_sd", "proportional_sd"), "exponential": ("log_sd",)}[self.model]
        unused = [k for k in ("additive_sd", "proportional_sd", "log_sd") if k not in need and getattr(self, k)]
        if unused:
            raise PharmsimError(f"{unused[0]} is not used by the {self.model!r} model (it uses {', '.join(need)}); "
                                "give only the parameters of the model chosen")
        if not isinstance(self.clip_at_zero, (bool, np.bool_)):
            raise PharmsimError(f"clip_at_zero must be True or False; got {self.clip_at_zero!r}")

    def sd(self, ipred) -> np.ndarray:
        """SD of ``y`` given the prediction (for the exponential model: SD of ``ln y``)."""
        f = require_finite("ipred", ipred)
        if self.model == "additive":
            return np.full(f.shape, self.additive_sd)
        if self.model == "proportional":
            return np.abs(f) * self.proportional_sd
        if self.model == "combined":
            return np.sqrt(self.additive_sd ** 2 + (self.proportional_sd * f) ** 2)
        return np.full(f.shape, self.log_sd)

    def sample(self, ipred, rng) -> np.ndarray:
        """Observations ``y`` for the predictions ``ipred`` (any shape), one standard normal draw each from ``rng``
        (a Generator or an int seed), in C order."""
        gen = _generator(rng)
        f = require_finite("ipred", ipred)
        z = gen.standard_normal(f.shape)
        if self.model == "exponential":
            y = f * np.exp(self.log_sd * z)
        else:
            y = f + self.sd(f) * z
        return np.maximum(y, 0.0) if self.clip_at_zero else y

    def blq(self, y) -> np.ndarray:
        """True where an observation is below the limit of quantification."""
        y = require_finite("y", y)
        return y < self.lloq if self.lloq > 0 else np.zeros(y.shape, dtype=bool)
