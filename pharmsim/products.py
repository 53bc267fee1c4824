"""Kratom products: an amount of leaf or extract, its alkaloid contents and its form, as dosing events.

A :class:`Product` is ``amount_g`` of material of a ``form`` (the library's ``product_form`` rows:
``'leaf powder'`` (toss-and-wash), ``'capsule'`` (capsules of leaf powder), ``'tea'`` (the amount is the leaf
that went in and is swallowed with the brew, as in Tanna 2022), ``'extract'``) with a content in % w/w of
each alkaloid::

    dose of compound c (nmol) = amount_g * 1000 * percent_c / 100 * 1e6 / M_c

Each compound is dosed into its own depot of that form: the form is the route name, whose absorption rate,
lag time and relative bioavailability are the compound's rows at that target in the library. Default
contents are the library's ``content`` rows at the form (every compound that has one: MG and 7-OH-MG for
the shipped data, and any alkaloid added as rows); ``contents=`` (or the shorthands ``mg_percent`` and
``oh_percent``) overrides them.

Not for: brewing chemistry (how much MG a tea extracts; give the content of what is swallowed) or PK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .catalog import catalog
from .dosing import Doses
from .validate import PharmsimError, require_choice, require_finite, require_instance, require_number

__all__ = ["Product", "SHORTHANDS", "product_doses"]

#: The shorthands of :class:`Product`: keyword -> compound id.
SHORTHANDS = MappingProxyType({"mg_percent": "MG", "oh_percent": "7-OH-MG"})


def __getattr__(name):
    # FORMS: the product forms of the shipped library (each also an absorption route), read on first use
    if name == "FORMS":
        return catalog().product_forms()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Product:
    """A kratom product.

    Parameters
    ----------
    form : str
        A product form of the library (``'leaf powder'``, ``'capsule'``, ``'tea'``, ``'extract'``).
    amount_g : float
        Grams of leaf (or extract) taken per dose (> 0).
    mg_percent, oh_percent : float, optional
        Shorthands for ``contents={'MG': ..., '7-OH-MG': ...}`` (% w/w, 0-100).
    contents : mapping compound -> % w/w, optional
        Contents that replace the library's defaults for the form; compounds not named keep their default.
    """

    form: str
    amount_g: float
    mg_percent: float | None = None
    oh_percent: float | None = None
    contents: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.form, str):
            raise PharmsimError(f"form must be a product form name; got {self.form!r}")
        object.__setattr__(self, "amount_g",
                           require_number("amount_g", self.amount_g, "g", minimum=0, strict=True))
        given = {}
        if not isinstance(self.contents, Mapping):
            raise PharmsimError(f"contents must be a mapping compound -> % w/w; got {self.contents!r}")
        for k, v in dict(self.contents).items():
            given[str(k)] = (f"contents[{k!r}]", v)
        for key, cid in SHORTHANDS.items():
            v = getattr(self, key)
            if v is not None:
                if cid in given:
                    raise PharmsimError(f"{key} and contents[{cid!r}] both give the {cid} content; give one")
                given[cid] = (key, v)
        out = {}
        for cid, (name, v) in given.items():
            v = require_number(name, v, "%", minimum=0)
            if v > 100:
                raise PharmsimError(f"{name} must be a percentage in [0, 100] % w/w; got {v}")
            out[cid] = v
        for key, cid in SHORTHANDS.items():
            if getattr(self, key) is not None:
                object.__setattr__(self, key, out[cid])
        if sum(out.values()) > 100:
            raise PharmsimError(f"the contents must not add up to more than 100 % w/w; got "
                                f"{' + '.join(f'{v:g}' for v in out.values())}")
        object.__setattr__(self, "contents", MappingProxyType(out))

    def contents_percent(self, library=None) -> dict[str, float]:
        """``{compound: %}`` w/w: the library's defaults for the form (``content`` rows), replaced by the given
        ones."""
        cat = catalog(library)
        require_choice("form", self.form, cat.product_forms())
        out = cat.product_contents_percent(self.form)
        for c, v in self.contents.items():
            out[cat.compound_id(c)] = v
        order = [c.id for c in cat.library.compounds()]
        out = {c: out[c] for c in sorted(out, key=order.index)}
        if not out:
            raise PharmsimError(f"the library holds no default contents for form {self.form!r}; give them, e.g. "
                                f"Product({self.form!r}, {self.amount_g:g}, mg_percent=...)")
        if sum(out.values()) > 100:
            raise PharmsimError(f"the contents of {self.form!r} add up to more than 100 % w/w: {out}")
        return out

    def amounts_mg(self, library=None) -> dict[str, float]:
        """mg of each compound per dose: ``amount_g * 1000 * percent / 100``."""
        return {cid: self.amount_g * 10.0 * pct for cid, pct in self.contents_percent(library).items()}

    def doses(self, times_h: Sequence[float] | float = 0.0, library=None) -> Doses:
        """Dosing events (nmol) of each compound by route ``form`` at each time in ``times_h``."""
        return product_doses(self, times_h, library=library)


def product_doses(product: Product, times_h: Sequence[float] | float = 0.0, *, library=None,
                  molar_masses: dict[str, float] | None = None) -> Doses:
    """Dose events for ``product`` taken at ``times_h`` (h): each compound it contains, in nmol.

    Events with 0 nmol (a compound absent from the product) are left out. ``molar_masses`` ({id: g/mol})
    overrides the library.
    """
    require_instance("product", product, Product, "a pharmsim Product (e.g. Product('leaf powder', 2.0))")
    times = np.atleast_1d(require_finite("times_h", times_h, "h"))
    if times.ndim != 1 or times.size == 0:
        raise PharmsimError(f"times_h must be one time or a 1-D list of times in h; got {times_h!r}")
    cat = catalog(library)
    molar_masses = dict(molar_masses or {})
    out = Doses()
    for cid, mg in product.amounts_mg(cat).items():
        if mg <= 0:
            continue
        mw = molar_masses.get(cid, cat.molar_mass(cid))
        nmol = mg * 1e6 / mw
        out = out + Doses(time_h=times, compound=(cid,) * times.size, route=(product.form,) * times.size,
                          amount_nmol=np.full(times.size, nmol), duration_h=np.zeros(times.size))
    return out
