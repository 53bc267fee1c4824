"""Unit conversions, done once at the edges of the package.

Inside pharmsim every quantity has one working unit, written in its name: amounts in nmol, molar
concentrations in nM, time in h, first-order rate constants in 1/h, volumes in L, clearances in L/h,
second-order association rate constants in 1/(nM*h). Published values arrive in many units
(ng/mL, uM, mL/min, min^-1, L/kg ...); :func:`convert` turns them into the working unit and refuses
what it does not know, naming the unit and the units it accepts.

Mass <-> molar conversions need the molar mass (g/mol): ``c[nM] = c[ng/mL] * 1000 / M`` and
``n[nmol] = m[mg] * 1e6 / M``.

Not for: looking up molar masses (see :mod:`pharmsim.library`).
"""

from __future__ import annotations

import numpy as np

from .validate import PharmsimError, require_nonnegative, require_number, require_positive, suggest

__all__ = [
    "WORKING_UNITS",
    "convert",
    "mg_to_nmol",
    "nmol_to_mg",
    "ng_per_mL_to_nM",
    "nM_to_ng_per_mL",
    "dimension_of",
]

# unit -> (dimension, factor to the working unit of that dimension)
_UNITS: dict[str, tuple[str, float]] = {}


def _add(dimension: str, factor: float, *names: str) -> None:
    for n in names:
        _UNITS[n] = (dimension, factor)


# molar concentration -> nM
_add("molar_conc", 1e-3, "pM")
_add("molar_conc", 1.0, "nM", "nmol/L")
_add("molar_conc", 1e3, "uM", "µM", "μM", "umol/L")
_add("molar_conc", 1e6, "mM", "mmol/L")
_add("molar_conc", 1e9, "M", "mol/L")
# mass concentration -> ng/mL (needs molar mass to become nM)
_add("mass_conc", 1e-3, "pg/mL")
_add("mass_conc", 1.0, "ng/mL", "ug/L", "µg/L", "μg/L")
_add("mass_conc", 1e3, "ug/mL", "µg/mL", "μg/mL", "mg/L")
# amount -> nmol ; mass -> mg
_add("amount", 1e-3, "pmol")
_add("amount", 1.0, "nmol")
_add("amount", 1e3, "umol", "µmol", "μmol")
_add("amount", 1e6, "mmol")
_add("mass", 1e-6, "ng")
_add("mass", 1e-3, "ug", "µg", "μg")
_add("mass", 1.0, "mg")
_add("mass", 1e3, "g")
# time -> h
_add("time", 1 / 3600, "s")
_add("time", 1 / 60, "min")
_add("time", 1.0, "h")
_add("time", 24.0, "d", "day", "days")
# first-order rate -> 1/h
_add("rate", 3600.0, "1/s", "/s", "s^-1")
_add("rate", 60.0, "1/min", "/min", "min^-1")
_add("rate", 1.0, "1/h", "/h", "h^-1")
_add("rate", 1 / 24, "1/d", "/d", "d^-1")
# second-order association rate -> 1/(nM*h)
_add("kon", 1.0, "1/(nM*h)", "1/nM/h", "nM^-1 h^-1")
_add("kon", 60.0, "1/(nM*min)", "1/nM/min", "nM^-1 min^-1")
_add("kon", 3600e-9, "1/(M*s)", "M^-1 s^-1")
_add("kon", 60e-9, "1/(M*min)", "M^-1 min^-1")
# volume -> L ; clearance -> L/h
_add("volume", 1.0, "L")
_add("volume", 1e-3, "mL")
_add("clearance", 1.0, "L/h")
_add("clearance", 0.06, "mL/min")
_add("clearance", 60.0, "L/min")
# per body weight (need body_weight_kg)
_add("volume_per_kg", 1.0, "L/kg")
_add("clearance_per_kg", 1.0, "L/h/kg")
_add("clearance_per_kg", 0.06, "mL/min/kg")
_add("dose_per_kg", 1.0, "mg/kg")
_add("dose_per_kg", 1e-3, "ug/kg", "µg/kg", "μg/kg")
# dimensionless
_add("fraction", 1.0, "fraction", "1", "-", "ratio")
_add("fraction", 0.01, "%")

#: Working unit of each dimension.
WORKING_UNITS = {
    "molar_conc": "nM",
    "mass_conc": "ng/mL",
    "amount": "nmol",
    "mass": "mg",
    "time": "h",
    "rate": "1/h",
    "kon": "1/(nM*h)",
    "volume": "L",
    "clearance": "L/h",
    "volume_per_kg": "L/kg",
    "clearance_per_kg": "L/h/kg",
    "dose_per_kg": "mg/kg",
    "fraction": "fraction",
}

# conversions between dimensions: (from_dim, to_dim) -> what is needed
_PER_KG = {"volume_per_kg": "volume", "clearance_per_kg": "clearance", "dose_per_kg": "mass"}


def dimension_of(unit: str, name: str = "unit") -> str:
    """The dimension (``'molar_conc'``, ``'time'``, ...) of ``unit``; an error naming ``name`` for an unknown
    unit."""
    if not isinstance(unit, str) or unit not in _UNITS:
        raise PharmsimError(
            f"{name} must be one of the known units ({', '.join(sorted(_UNITS))}); got {unit!r}"
            f"{suggest(unit, _UNITS) if isinstance(unit, str) else ''}"
        )
    return _UNITS[unit][0]


def convert(value, from_unit: str, to_unit: str, *, molar_mass_g_per_mol=None, body_weight_kg=None,
            name: str = "value"):
    """Convert ``value`` from ``from_unit`` to ``to_unit``.

    Within one dimension this is a factor. Across dimensions it knows: mass concentration <-> molar
    concentration and mass <-> amount (need ``molar_mass_g_per_mol``), and per-kg volumes,
    clearances and doses -> absolute (need ``body_weight_kg``).

    Parameters
    ----------
    value : float or array_like
        Finite numbers (NaN and inf are refused).
    from_unit, to_unit : str
        Unit names, e.g. ``'ng/mL'``, ``'nM'``, ``'mL/min'``, ``'1/min'``.
    molar_mass_g_per_mol, body_weight_kg : float, optional
        Needed only for the cross-dimension conversions above.
    name : str
        The parameter's name, used in error messages.

    Returns
    -------
    float or numpy.ndarray
        ``value`` in ``to_unit`` (a float for scalar input).
    """
    from numpy import ndim

    from .validate import require_finite

    arr = require_finite(name, value, from_unit)
    d_from, d_to = dimension_of(from_unit, "from_unit"), dimension_of(to_unit, "to_unit")
    f_from, f_to = _UNITS[from_unit][1], _UNITS[to_unit][1]
    x = arr * f_from  # in the working unit of d_from
    if d_from != d_to:
        if {d_from, d_to} == {"mass_conc", "molar_conc"} or {d_from, d_to} == {"mass", "amount"}:
            if molar_mass_g_per_mol is None:
                raise PharmsimError(
                    f"converting {name} from {from_unit} to {to_unit} needs molar_mass_g_per_mol; got None"
                )
            mw = require_number("molar_mass_g_per_mol", molar_mass_g_per_mol, "g/mol", minimum=0, strict=True)
            if d_from == "mass_conc":      # ng/mL -> nM
                x = x * 1e3 / mw
            elif d_from == "molar_conc":   # nM -> ng/mL
                x = x * mw / 1e3
            elif d_from == "mass":         # mg -> nmol
                x = x * 1e6 / mw
            else:                          # nmol -> mg
                x = x * mw / 1e6
        elif _PER_KG.get(d_from) == d_to:
            if body_weight_kg is None:
                raise PharmsimError(
                    f"converting {name} from {from_unit} to {to_unit} needs body_weight_kg; got None"
                )
            x = x * require_positive("body_weight_kg", body_weight_kg, "kg")
        else:
            raise PharmsimError(
                f"cannot convert {name} from {from_unit!r} ({d_from}) to {to_unit!r} ({d_to}): "
                "the units measure different things"
            )
    out = x / f_to
    return float(out) if ndim(value) == 0 else out


def mg_to_nmol(dose_mg, molar_mass_g_per_mol):
    """Amount in nmol of a mass in mg: ``n = m * 1e6 / M`` (M in g/mol)."""
    m = require_nonnegative("dose_mg", dose_mg, "mg")
    mw = require_positive("molar_mass_g_per_mol", molar_mass_g_per_mol, "g/mol")
    out = m * 1e6 / mw
    return float(out) if np.ndim(out) == 0 else out


def nmol_to_mg(amount_nmol, molar_mass_g_per_mol):
    """Mass in mg of an amount in nmol: ``m = n * M / 1e6``."""
    n = require_nonnegative("amount_nmol", amount_nmol, "nmol")
    mw = require_positive("molar_mass_g_per_mol", molar_mass_g_per_mol, "g/mol")
    out = n * mw / 1e6
    return float(out) if np.ndim(out) == 0 else out


def ng_per_mL_to_nM(conc_ng_per_mL, molar_mass_g_per_mol):
    """Molar concentration (nM) of a mass concentration (ng/mL): ``c = c_m * 1000 / M``."""
    require_nonnegative("conc_ng_per_mL", conc_ng_per_mL, "ng/mL")
    return convert(conc_ng_per_mL, "ng/mL", "nM", molar_mass_g_per_mol=molar_mass_g_per_mol,
                   name="conc_ng_per_mL")


def nM_to_ng_per_mL(conc_nM, molar_mass_g_per_mol):
    """Mass concentration (ng/mL) of a molar concentration (nM): ``c_m = c * M / 1000``."""
    require_nonnegative("conc_nM", conc_nM, "nM")
    return convert(conc_nM, "nM", "ng/mL", molar_mass_g_per_mol=molar_mass_g_per_mol, name="conc_nM")
