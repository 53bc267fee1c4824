"""Kratom products: an amount of leaf or extract, its alkaloid contents and its form, as dosing events.

A :class:`Product` is ``amount_g`` of material of a ``form`` (``'leaf powder'`` (toss-and-wash),
``'capsule'`` (capsules of leaf powder), ``'tea'`` (tea or tincture; the amount is the leaf that went in
and is swallowed with the brew, as in Tanna 2022), ``'extract'``) with contents in % w/w of mitragynine
(MG) and 7-hydroxymitragynine (7-OH-MG)::

    MG dose (nmol)      = amount_g * 1000 * mg_percent / 100 * 1e6 / M_MG        (M_MG = 398.5 g/mol)
    7-OH-MG dose (nmol) = amount_g * 1000 * oh_percent / 100 * 1e6 / M_7OH      (M_7OH = 414.5 g/mol)

MG is dosed into MG's depot of that form; 7-OH-MG in the product is dosed into 7-OH-MG's own depot of
that form (it also forms from MG in the body; see :mod:`pharmsim.pk`). The form is the route name: its
absorption rate, lag time and relative bioavailability are parameters of the PK model
(``"MG.<form>.ka_per_h"`` ...), read from the library by :func:`pharmsim.pk.default_model`.

Default contents come from the library when a percentage is not given (``content`` rows, compound MG or
7-OH-MG, target = the form).

Not for: brewing chemistry (how much MG a tea extracts; give the content of what is swallowed) or PK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .dosing import Doses, molar_mass_of
from .validate import PharmsimError, require_choice, require_finite, require_nonnegative, require_positive

__all__ = ["FORMS", "Product", "product_doses"]

#: Product forms; each is also the name of an absorption route in the PK model.
FORMS = ("leaf powder", "capsule", "tea", "extract")


@dataclass(frozen=True)
class Product:
    """A kratom product.

    Parameters
    ----------
    form : {'leaf powder', 'capsule', 'tea', 'extract'}
    amount_g : float
        Grams of leaf (or extract) taken per dose (> 0).
    mg_percent : float, optional
        MG content, % w/w (0-100). None: the library default for the form.
    oh_percent : float, optional
        7-OH-MG content, % w/w (0-100). None: the library default for the form.
    """

    form: str
    amount_g: float
    mg_percent: float | None = None
    oh_percent: float | None = None

    def __post_init__(self):
        require_choice("form", self.form, FORMS)
        object.__setattr__(self, "amount_g", float(require_positive("amount_g", self.amount_g, "g")))
        for name in ("mg_percent", "oh_percent"):
            v = getattr(self, name)
            if v is not None:
                v = float(require_nonnegative(name, v, "%"))
                if v > 100:
                    raise PharmsimError(f"{name} must be a percentage in [0, 100] % w/w; got {v}")
                object.__setattr__(self, name, v)
        if self.mg_percent is not None and self.oh_percent is not None and self.mg_percent + self.oh_percent > 100:
            raise PharmsimError(f"mg_percent + oh_percent must not exceed 100 % w/w; got "
                                f"{self.mg_percent} + {self.oh_percent}")

    def contents_percent(self, library=None) -> dict[str, float]:
        """``{'MG': %, '7-OH-MG': %}`` w/w, given or read from the library (``content`` rows, target = form)."""
        out = {}
        for cid, given in (("MG", self.mg_percent), ("7-OH-MG", self.oh_percent)):
            if given is None:
                given = _content_percent(_lib(library), cid, self.form)
            out[cid] = float(given)
        return out

    def amounts_mg(self, library=None) -> dict[str, float]:
        """mg of MG and 7-OH-MG per dose: ``amount_g * 1000 * percent / 100``."""
        return {cid: self.amount_g * 10.0 * pct for cid, pct in self.contents_percent(library).items()}

    def doses(self, times_h: Sequence[float] | float = 0.0, library=None) -> Doses:
        """Dosing events (nmol) of MG and 7-OH-MG by route ``form`` at each time in ``times_h``."""
        return product_doses(self, times_h, library=library)


def _content_percent(library, compound: str, form: str) -> float:
    """Default content (% w/w) of ``compound`` in ``form`` from the library's ``content`` row."""
    try:
        par = library.parameter("content", compound, form)
    except PharmsimError as err:
        raise PharmsimError(
            f"no default {compound} content for form {form!r} in the library ({err}); give "
            f"{'mg_percent' if compound == 'MG' else 'oh_percent'} (% w/w) explicitly") from None
    factor = {"%": 1.0, "% w/w": 1.0, "mg/g": 0.1, "fraction": 100.0}.get(par.unit)
    if factor is None:
        raise PharmsimError(f"content row of {compound}/{form} has unit {par.unit!r}; expected %, % w/w or mg/g")
    return float(par.value) * factor


def _lib(library):
    if library is None:
        from .library import load_library

        library = load_library()
    return library


def product_doses(product: Product, times_h: Sequence[float] | float = 0.0, *, library=None,
                  molar_masses: dict[str, float] | None = None) -> Doses:
    """Dose events for ``product`` taken at ``times_h`` (h): MG and, if present, 7-OH-MG, in nmol.

    Events with 0 nmol (no 7-OH-MG) are left out. ``molar_masses`` ({id: g/mol}) overrides the library.
    """
    times = np.atleast_1d(require_finite("times_h", times_h, "h"))
    if times.ndim != 1 or times.size == 0:
        raise PharmsimError(f"times_h must be one time or a 1-D list of times in h; got {times_h!r}")
    molar_masses = dict(molar_masses or {})
    amounts = product.amounts_mg(library if (product.mg_percent is not None and product.oh_percent is not None)
                                 else _lib(library))
    out = Doses()
    for cid, mg in amounts.items():
        if mg <= 0:
            continue
        mw = molar_masses.get(cid)
        if mw is None:
            cid, mw = molar_mass_of(cid, _lib(library))
        nmol = mg * 1e6 / mw
        out = out + Doses(time_h=times, compound=(cid,) * times.size, route=(product.form,) * times.size,
                          amount_nmol=np.full(times.size, nmol), duration_h=np.zeros(times.size))
    return out
