"""The parameter library: published numbers with their provenance, as immutable records.

Every number pharmsim uses by default lives in ``data/*.csv``, one row per published value, with its unit,
species, assay, source (author year journal), DOI or PMID, a status (``seen`` / ``check`` / ``derived`` /
``assumption``) and a ``preferred`` flag that marks the documented default for each
(compound, target, pathway, quantity). :func:`load_library` reads every CSV in that folder generically
(``compounds.csv`` specially) into a :class:`Library`, which answers look-ups by compound name or alias,
lists every source for a parameter, converts units through :mod:`pharmsim.units` (with the compound's
molar mass where needed), and returns *new* libraries for user overrides (:meth:`Library.with_value`,
:meth:`Library.with_compound`, :meth:`Library.prefer`) without editing files or mutating anything.

Example
-------
>>> lib = load_library()
>>> lib.value("Ki", "7-hydroxymitragynine", "MOR", "nM")            # doctest: +SKIP
>>> lib.sources("Ki", "MG", "MOR")[["value", "unit", "species", "source", "status"]]  # doctest: +SKIP

Not for: simulation, fitting or choosing system parameters (receptor reserve, transducer constants) -
those belong to the model. This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import units
from .validate import PharmsimError, require_finite, require_number, require_positive, suggest

__all__ = [
    "BASES",
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "STATUSES",
    "NONCONVERTIBLE_UNITS",
    "Compound",
    "Parameter",
    "Library",
    "load_library",
    "data_dir",
    "unit_known",
]

#: Columns every ``data/*.csv`` parameter table must have, in this order.
COLUMNS = ("compound", "target", "pathway", "quantity", "value", "unit", "species", "assay", "source", "doi",
           "status", "preferred", "note")
#: Columns of ``data/compounds.csv``.
COMPOUND_COLUMNS = ("id", "name", "aliases", "molar_mass", "unit", "formula", "species", "assay", "source", "doi",
                    "status", "note")
#: Allowed values of the ``status`` column.
STATUSES = ("seen", "check", "derived", "assumption")
#: Concentration basis of an affinity, potency or rate constant (optional ``basis`` column):
#: ``'in vitro'`` nominal free concentration in an assay medium; ``'unbound'`` unbound plasma or effect-site
#: concentration; ``'total plasma'`` total plasma concentration (or an effect site on the total-plasma scale);
#: ``'-'`` not a concentration-based number. :mod:`pharmsim.catalog` converts every affinity to the model's basis
#: (unbound effect-site concentration) with the compound's fraction unbound.
BASES = ("in vitro", "unbound", "total plasma", "-")
#: Optional columns after :data:`COLUMNS`, with the value a file without them gets.
OPTIONAL_COLUMNS = {"basis": "-"}
#: Compound id of rows that belong to no compound: system parameters (e.g. a tolerance rate constant at
#: MOR) and whole-product rows (e.g. a leaf dose in g).
WHOLE_PRODUCT = "-"

# Units that pharmsim.units does not convert but that the library accepts, with what they mean.
# Relative units of the form "% of <reference>" / "fraction of <reference>" are accepted for any reference
# and convert between each other (same reference) and to/from "%" / "fraction".
NONCONVERTIBLE_UNITS = {
    "% of dose": "fraction of the administered dose (e.g. excreted unchanged in urine)",
    "% max inhibition": ("maximal inhibition of a stimulated signal (e.g. forskolin cAMP), "
                         "not relative to a reference agonist"),
    "% over basal": "stimulation above basal binding ([35S]GTPgammaS)",
}
# Units the library converts itself (dimension, factor to the dimension's base unit).
#  content: base mg/g ; exposure: base nM*h (molar) or ng*h/mL (mass) ; kon_mass: base mL/(ng*h)
_EXTRA = {
    "mg/g": ("content", 1.0),
    "% w/w": ("content", 10.0),
    "nM*h": ("exposure_molar", 1.0),
    "uM*h": ("exposure_molar", 1e3),
    "ng*h/mL": ("exposure_mass", 1.0),
    "mL/ng/min": ("kon_mass", 60.0),
    "mL/(ng*min)": ("kon_mass", 60.0),
    "mL/ng/h": ("kon_mass", 1.0),
    "mL/(ng*h)": ("kon_mass", 1.0),
}
_RELATIVE = re.compile(r"^(%|fraction) of (.+)$")
_TARGETS_RECEPTOR = ("MOR", "DOR", "KOR")


def unit_known(unit: str) -> bool:
    """True if ``unit`` is understood by the library (convertible, relative, or documented non-convertible)."""
    if not isinstance(unit, str) or not unit.strip():
        return False
    if unit in _EXTRA or unit in NONCONVERTIBLE_UNITS or _RELATIVE.match(unit):
        return True
    try:
        units.dimension_of(unit)
    except PharmsimError:
        return False
    return True


def _all_unit_names() -> list[str]:
    return sorted(set(units._UNITS) | set(_EXTRA) | set(NONCONVERTIBLE_UNITS))


def _relative(unit: str):
    """``('%', 'DAMGO')`` for ``'% of DAMGO'``, ``None`` otherwise."""
    m = _RELATIVE.match(unit)
    return (m.group(1), m.group(2).strip()) if m else None


def _convert(value: float, from_unit: str, to_unit: str, *, molar_mass, body_weight_kg, name: str) -> float:
    """Convert one value; handles the library's extra units and delegates the rest to pharmsim.units."""
    require_finite(name, value, from_unit)
    if not isinstance(to_unit, str) or not to_unit.strip():
        raise PharmsimError(f"unit for {name} must be a non-empty unit name (e.g. 'nM'); got {to_unit!r}")
    if from_unit == to_unit:
        return float(value)
    rf, rt = _relative(from_unit), _relative(to_unit)
    if rf or rt:
        if rf and rt and rf[1] != rt[1]:
            raise PharmsimError(
                f"cannot convert {name} from {from_unit!r} to {to_unit!r}: the reference agonists differ "
                f"({rf[1]!r} vs {rt[1]!r}); re-referencing needs both agonists measured in one assay")
        f_kind = rf[0] if rf else from_unit
        t_kind = rt[0] if rt else to_unit
        if f_kind not in ("%", "fraction") or t_kind not in ("%", "fraction"):
            raise PharmsimError(f"cannot convert {name} from {from_unit!r} to {to_unit!r}: expected '%' or 'fraction'")
        return float(units.convert(value, f_kind, t_kind, name=name))
    if from_unit in NONCONVERTIBLE_UNITS or to_unit in NONCONVERTIBLE_UNITS:
        raise PharmsimError(
            f"cannot convert {name} from {from_unit!r} to {to_unit!r}: "
            f"{NONCONVERTIBLE_UNITS.get(from_unit) or NONCONVERTIBLE_UNITS.get(to_unit)} (not convertible)")
    if from_unit in _EXTRA or to_unit in _EXTRA:
        return _convert_extra(value, from_unit, to_unit, molar_mass=molar_mass, name=name)
    return float(units.convert(value, from_unit, to_unit, molar_mass_g_per_mol=molar_mass,
                               body_weight_kg=body_weight_kg, name=name))


def _need_mass(molar_mass, name, from_unit, to_unit) -> float:
    if molar_mass is None or (isinstance(molar_mass, float) and math.isnan(molar_mass)):
        raise PharmsimError(f"converting {name} from {from_unit} to {to_unit} needs molar_mass_g_per_mol; got None")
    return require_number("molar_mass_g_per_mol", molar_mass, "g/mol", minimum=0, strict=True)


def _convert_extra(value, from_unit, to_unit, *, molar_mass, name) -> float:
    """Content (mg/g, % w/w), exposure (nM*h, ng*h/mL) and mass-based kon (mL/ng/min) conversions.

    kon: ``kon[1/(nM*h)] = kon[mL/(ng*h)] * M / 1000`` because ``C[ng/mL] = C[nM] * M / 1000``.
    Exposure: ``AUC[nM*h] = AUC[ng*h/mL] * 1000 / M``.
    """
    def dim(u):
        if u in _EXTRA:
            return _EXTRA[u]
        return units.dimension_of(u), None

    (d_f, f_f), (d_t, f_t) = dim(from_unit), dim(to_unit)
    if d_f == d_t:
        return float(value) * f_f / f_t
    pair = {d_f, d_t}
    if pair == {"exposure_molar", "exposure_mass"}:
        mw = _need_mass(molar_mass, name, from_unit, to_unit)
        if d_f == "exposure_mass":      # ng*h/mL -> nM*h
            return float(value) * f_f * 1000.0 / mw / f_t
        return float(value) * f_f * mw / 1000.0 / f_t
    if pair == {"kon_mass", "kon"}:
        mw = _need_mass(molar_mass, name, from_unit, to_unit)
        if d_f == "kon_mass":           # mL/(ng*h) -> 1/(nM*h) -> to_unit
            per_nM_h = float(value) * f_f * mw / 1000.0
            return float(units.convert(per_nM_h, "1/(nM*h)", to_unit, name=name))
        per_nM_h = float(units.convert(value, from_unit, "1/(nM*h)", name=name))
        return per_nM_h * 1000.0 / mw / f_t
    raise PharmsimError(
        f"cannot convert {name} from {from_unit!r} ({d_f}) to {to_unit!r} ({d_t}): the units measure different things")


# --------------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compound:
    """A compound with its molar mass and where that number comes from.

    Parameters
    ----------
    id : str
        Short id used in every data table (``'MG'``, ``'7-OH-MG'``, ``'morphine'`` ...).
    name : str
        Full name.
    molar_mass_g_per_mol : float
        Molar mass (g/mol) used for mass <-> molar conversions (free base).
    aliases : tuple of str
        Other names accepted by :meth:`Library.compound` (case, spaces, hyphens and underscores ignored).
    source, doi : str
        Where the molar mass comes from.
    formula, status, note : str
        Molecular formula, provenance status and free-text note.
    """

    id: str
    name: str
    molar_mass_g_per_mol: float
    aliases: tuple[str, ...] = ()
    source: str = ""
    doi: str = ""
    formula: str = ""
    status: str = ""
    note: str = ""

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id.strip() or self.id == WHOLE_PRODUCT:
            raise PharmsimError(f"Compound.id must be a non-empty name other than '-'; got {self.id!r}")
        require_positive(f"molar_mass_g_per_mol of {self.id}", self.molar_mass_g_per_mol, "g/mol")
        object.__setattr__(self, "molar_mass_g_per_mol", float(self.molar_mass_g_per_mol))
        object.__setattr__(self, "aliases", tuple(self.aliases))


@dataclass(frozen=True)
class Parameter:
    """One published (or derived, or assumed) value with its provenance.

    ``value`` is in ``unit`` as published; :meth:`to` converts it. ``molar_mass_g_per_mol`` is the
    compound's molar mass (None for whole-product rows), used for mass <-> molar conversions. ``basis`` is the
    concentration basis of an affinity, potency or rate constant (one of :data:`BASES`).
    """

    compound: str
    target: str
    pathway: str
    quantity: str
    value: float
    unit: str
    species: str
    assay: str
    source: str
    doi: str
    status: str
    preferred: bool
    note: str = ""
    molar_mass_g_per_mol: float | None = field(default=None, compare=False)
    basis: str = "-"

    def to(self, unit: str, *, body_weight_kg=None, molar_mass_g_per_mol=None) -> float:
        """The value in ``unit``.

        Conversions go through :func:`pharmsim.units.convert`; the compound's molar mass is passed for
        mass <-> molar conversions (e.g. ng/mL -> nM: ``c = c_m * 1000 / M``; mass-based association
        rate constants mL/(ng*min) -> 1/(nM*h): ``kon * M / 1000 * 60``), ``body_weight_kg`` for per-kg
        values. Relative units (``'% of DAMGO'``) convert to ``'%'`` / ``'fraction'``.

        Raises
        ------
        PharmsimError
            If ``unit`` is missing or unknown, or the conversion needs a molar mass / body weight that is
            not available, naming the parameter, the value and the expected unit.
        """
        mw = molar_mass_g_per_mol if molar_mass_g_per_mol is not None else self.molar_mass_g_per_mol
        return _convert(self.value, self.unit, unit, molar_mass=mw, body_weight_kg=body_weight_kg,
                        name=self.label)

    @property
    def label(self) -> str:
        """``'Ki of MG at MOR (Kruegel 2016 J Am Chem Soc)'`` - used in messages and legends."""
        pw = "" if self.pathway in ("-", "") else f", {self.pathway}"
        return f"{self.quantity} of {self.compound} at {self.target}{pw} ({self.source})"


# --------------------------------------------------------------------------------------------------
# the library
# --------------------------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[\s\-_]+", "", str(name)).lower()


def _same(a, b) -> bool:
    return str(a).strip().lower() == str(b).strip().lower()


def _pos_required(quantity: str) -> bool:
    """Quantities that must be > 0 (affinities, potencies, rate constants, volumes, clearances, times)."""
    q = quantity.lower()
    return (q.startswith(("k", "ec50", "ic50", "c50", "cl", "v", "q", "t_half", "tmax", "molar"))
            and not q.startswith("ki_ratio"))


@dataclass(frozen=True)
class _Index:
    """Dictionaries over the rows of a library, built once: every look-up is a dict access, not a scan."""

    rows: dict            # (quantity, compound id, target) -> [row dict, ...] in file order
    quantities: frozenset
    targets: frozenset
    quantities_at: dict   # (compound id, target) -> (quantity, ...)
    targets_of: dict      # (quantity, compound id) -> (target, ...)
    compounds_at: dict    # (quantity, target) -> (compound id, ...)
    by_alias: dict        # normalised id / name / alias -> Compound

    @classmethod
    def build(cls, table: pd.DataFrame, compounds: tuple[Compound, ...]) -> _Index:
        rows: dict = {}
        q_at: dict = {}
        t_of: dict = {}
        c_at: dict = {}
        for r in table.to_dict("records"):
            key = (r["quantity"], r["compound"], r["target"])
            rows.setdefault(key, []).append(r)
            for d, k, v in ((q_at, (r["compound"], r["target"]), r["quantity"]),
                            (t_of, (r["quantity"], r["compound"]), r["target"]),
                            (c_at, (r["quantity"], r["target"]), r["compound"])):
                seen = d.setdefault(k, [])
                if v not in seen:
                    seen.append(v)
        alias: dict = {}
        for c in compounds:
            for n in (c.id, c.name, *c.aliases):
                alias.setdefault(_norm(n), c)
        tup = lambda d: {k: tuple(v) for k, v in d.items()}  # noqa: E731
        return cls(rows=rows, quantities=frozenset(table["quantity"]), targets=frozenset(table["target"]),
                   quantities_at=tup(q_at), targets_of=tup(t_of), compounds_at=tup(c_at), by_alias=alias)


@dataclass(frozen=True, eq=False)
class Library:
    """All parameters and compounds, immutable. Build with :func:`load_library`.

    The table is held privately; :meth:`table`, :meth:`sources` and :meth:`provenance` return copies.
    Overrides (:meth:`with_value`, :meth:`with_compound`, :meth:`prefer`) return new libraries.
    """

    _table: pd.DataFrame = field(repr=False)
    _compounds: tuple[Compound, ...] = field(repr=False)
    path: str = ""

    def __repr__(self) -> str:
        return (f"Library({len(self._compounds)} compounds, {len(self._table)} parameter rows, "
                f"path={self.path!r})")

    # ----------------------------------------------------------------------------------- the index
    @functools.cached_property
    def _index(self) -> _Index:
        """Look-up structures built once per library (the library is immutable)."""
        return _Index.build(self._table, self._compounds)

    # ----------------------------------------------------------------------------------- compounds
    def compounds(self) -> tuple[Compound, ...]:
        """Every compound, in file order."""
        return self._compounds

    def compound(self, name_or_alias: str) -> Compound:
        """The compound with this id, name or alias (case, spaces, hyphens, underscores ignored).

        Raises
        ------
        PharmsimError
            Naming the unknown compound, listing the valid ids and suggesting the nearest name.
        """
        if not isinstance(name_or_alias, str) or not name_or_alias.strip():
            raise PharmsimError(f"compound must be a compound name or alias; got {name_or_alias!r}")
        found = self._index.by_alias.get(_norm(name_or_alias))
        if found is not None:
            return found
        names = [c.id for c in self._compounds] + [a for c in self._compounds for a in (c.name, *c.aliases)]
        raise PharmsimError(
            f"compound must be one of {', '.join(c.id for c in self._compounds)} (or an alias); "
            f"got {name_or_alias!r}{suggest(name_or_alias, names)}")

    def _compound_id(self, name: str) -> str:
        if name == WHOLE_PRODUCT:
            return WHOLE_PRODUCT
        return self.compound(name).id

    def _mw(self, compound_id: str):
        if compound_id == WHOLE_PRODUCT:
            return None
        return self.compound(compound_id).molar_mass_g_per_mol

    def has(self, quantity: str, compound: str, target: str, pathway: str | None = None,
            source: str | None = None) -> bool:
        """True if the library holds a row for the parameter (and, if given, from ``source``); never raises
        for a name it does not know."""
        try:
            cid = self._compound_id(compound)
        except PharmsimError:
            return False
        rows = self._index.rows.get((quantity, cid, target), ())
        if pathway is not None:
            rows = [r for r in rows if r["pathway"] == pathway]
        if source is not None:
            rows = [r for r in rows if _same(r["source"], source)]
        return bool(rows)

    def targets(self, quantity: str, compound: str) -> tuple[str, ...]:
        """The targets at which ``compound`` has a ``quantity`` row (file order), e.g. the routes with a ``ka``."""
        return self._index.targets_of.get((quantity, self._compound_id(compound)), ())

    def compounds_with(self, quantity: str, target: str) -> tuple[str, ...]:
        """Compound ids that have a ``quantity`` row at ``target`` (file order)."""
        return self._index.compounds_at.get((quantity, target), ())

    # ----------------------------------------------------------------------------------- look-ups
    def _check_choice(self, what: str, value: str, choices: Iterable[str], context: str = "") -> str:
        if isinstance(value, str) and isinstance(choices, (set, frozenset, dict)) and value in choices:
            return value                                     # fast path: an exact name
        choices = sorted({str(c) for c in choices})
        if value in choices:                                 # an exact name wins over a case-insensitive one
            return value                                     # ('Ki' the binding constant, 'KI' an enzyme's)
        for c in choices:
            if _same(c, value):
                return c
        raise PharmsimError(
            f"{what} must be one of {', '.join(map(repr, choices)) or 'none'}{context}; got {value!r}"
            f"{suggest(value, choices)}")

    def _select(self, quantity, compound, target, pathway) -> list[dict]:
        """Rows (dicts) for (quantity, compound, target[, pathway]) with checked names; never empty."""
        ix = self._index
        if not isinstance(quantity, str):
            raise PharmsimError(f"quantity must be a quantity name such as 'Ki'; got {quantity!r}")
        cid = self._compound_id(compound)
        quantity = self._check_choice("quantity", quantity, ix.quantities)
        target = self._check_choice("target", target, ix.targets)
        rows = ix.rows.get((quantity, cid, target), [])
        if not rows:
            have = ix.quantities_at.get((cid, target), ())
            raise PharmsimError(
                f"no {quantity} for {cid} at {target} in the library; quantities there: "
                f"{', '.join(sorted(set(have))) or 'none'}{suggest(quantity, set(have))}. "
                "Add one with Library.with_value(...)")
        if pathway is not None:
            pathway = self._check_choice("pathway", pathway, {r["pathway"] for r in rows},
                                         f" for {quantity} of {cid} at {target}")
            rows = [r for r in rows if r["pathway"] == pathway]
        return rows

    def parameter(self, quantity: str, compound: str, target: str, pathway: str | None = None,
                  source: str | None = None, *, assay: str | None = None) -> Parameter:
        """One parameter: the preferred row, or the row from ``source`` (and ``assay`` if it has several).

        Parameters
        ----------
        quantity : str
            e.g. ``'Ki'``, ``'EC50'``, ``'Emax'``, ``'tau'``, ``'kon'``, ``'t_half'``, ``'content'``.
        compound : str
            Id, name or alias (``'7OH'``, ``'mitragynine'`` ...); ``'-'`` for rows that belong to no
            compound (system parameters, whole-product rows).
        target : str
            ``'MOR'``, ``'DOR'``, ``'KOR'``, ``'PK'`` or a product form (``'leaf powder'``, ``'tea'`` ...).
        pathway : str, optional
            ``'G protein'``, ``'beta-arrestin'`` or ``'-'``; needed only when the rows differ by pathway.
        source : str, optional
            A source listed by :meth:`sources`; default: the documented preferred row.

        Raises
        ------
        PharmsimError
            Unknown compound, target, quantity, pathway or source (with the valid names and the nearest).
        """
        rows = self._select(quantity, compound, target, pathway)
        label = f"{rows[0]['quantity']} of {rows[0]['compound']} at {rows[0]['target']}"
        pathways = {r["pathway"] for r in rows}
        if pathway is None and len(pathways) > 1:
            raise PharmsimError(
                f"pathway must be given for {label}: the library holds "
                f"{', '.join(map(repr, sorted(pathways)))}; got None")
        if source is not None:
            src = self._check_choice("source", source, [r["source"] for r in rows], f" for {label}")
            rows = [r for r in rows if r["source"] == src]
            if assay is not None:
                a = self._check_choice("assay", assay, [r["assay"] for r in rows], f" for {label} from {src}")
                rows = [r for r in rows if r["assay"] == a]
            if len(rows) > 1:
                pref = [r for r in rows if r["preferred"]]
                if len(pref) == 1:
                    rows = pref
                else:
                    raise PharmsimError(
                        f"source {src!r} has {len(rows)} values for {label}; choose one with assay= "
                        f"({'; '.join(repr(r['assay']) for r in rows)})")
        else:
            pref = [r for r in rows if r["preferred"]]
            if len(pref) != 1:
                raise PharmsimError(
                    f"{label} must have exactly one preferred row; found {len(pref)} "
                    f"(sources: {', '.join(repr(r['source']) for r in rows)}). Choose one with source= "
                    "or Library.prefer(...)")
            rows = pref
        return self._row_to_parameter(rows[0])

    def _row_to_parameter(self, r) -> Parameter:
        return Parameter(compound=r["compound"], target=r["target"], pathway=r["pathway"], quantity=r["quantity"],
                         value=float(r["value"]), unit=r["unit"], species=r["species"], assay=r["assay"],
                         source=r["source"], doi=r["doi"], status=r["status"], preferred=bool(r["preferred"]),
                         note=r["note"], molar_mass_g_per_mol=self._mw(r["compound"]),
                         basis=r.get("basis", "-") or "-")

    def value(self, quantity: str, compound: str, target: str, unit: str, pathway: str | None = None,
              source: str | None = None, *, body_weight_kg=None) -> float:
        """The parameter's value converted to ``unit`` (see :meth:`Parameter.to`)."""
        if not isinstance(unit, str) or not unit.strip():
            raise PharmsimError(f"unit for {quantity} of {compound} at {target} must be a unit name "
                                f"such as 'nM'; got {unit!r}")
        p = self.parameter(quantity, compound, target, pathway, source)
        return p.to(unit, body_weight_kg=body_weight_kg)

    def sources(self, quantity: str | None, compound: str | None = None, target: str | None = None,
                pathway: str | None = None) -> pd.DataFrame:
        """Every row (all sources) for a parameter, as a tidy DataFrame (a copy).

        ``quantity=None`` lists all quantities; ``compound``/``target``/``pathway`` narrow the rows.
        Names are checked (unknown ones raise :class:`~pharmsim.validate.PharmsimError`).
        """
        t = self._table
        mask = np.ones(len(t), dtype=bool)
        if quantity is not None:
            mask &= (t["quantity"] == self._check_choice("quantity", quantity, t["quantity"])).to_numpy()
        if compound is not None:
            mask &= (t["compound"] == self._compound_id(compound)).to_numpy()
        if target is not None:
            mask &= (t["target"] == self._check_choice("target", target, t["target"])).to_numpy()
        if pathway is not None:
            mask &= (t["pathway"] == self._check_choice("pathway", pathway, t["pathway"])).to_numpy()
        return t[mask].reset_index(drop=True).copy()

    def table(self) -> pd.DataFrame:
        """Every parameter row (a copy), with a ``table`` column naming the CSV file it came from."""
        return self._table.copy()

    def provenance(self, compounds: Iterable[str] | str | None = None, *, preferred_only: bool = True
                   ) -> pd.DataFrame:
        """A table for reports: the defaults in use, each with value, unit, species, assay, source, DOI, status.

        Parameters
        ----------
        compounds : str or iterable of str, optional
            Compound ids or aliases (default: all).
        preferred_only : bool
            Only the preferred (default) rows (True) or every row.
        """
        t = self._table
        if preferred_only:
            t = t[t["preferred"]]
        if compounds is not None:
            if isinstance(compounds, str):
                compounds = [compounds]
            ids = [self._compound_id(c) for c in compounds]
            t = t[t["compound"].isin(ids)]
        cols = ["compound", "target", "pathway", "quantity", "value", "unit", "basis", "species", "assay", "source",
                "doi", "status"]
        return t.sort_values(["compound", "target", "pathway", "quantity"])[cols].reset_index(drop=True).copy()

    # ----------------------------------------------------------------------------------- overrides
    def with_value(self, quantity: str, compound: str, target: str, value, unit: str, *, pathway: str = "-",
                   source: str = "user", **meta) -> Library:
        """A new library in which ``value`` (in ``unit``) is the preferred row for this parameter.

        Other rows of the parameter stay (not preferred); a row from the same ``source`` is replaced.
        ``meta`` may set ``species``, ``assay``, ``doi``, ``status`` (default ``'assumption'``), ``note`` and
        ``basis`` (the concentration basis of an affinity or potency, one of :data:`BASES`; default ``'-'``).
        Affinities, potencies, rate constants, volumes, clearances and times must be > 0; other values
        finite and >= 0 unless ``allow_negative=True``.

        Raises
        ------
        PharmsimError
            Unknown compound or target, missing/unknown unit, or a value out of range - naming the
            parameter, the value and what was expected.
        """
        allowed = {"species", "assay", "doi", "status", "note", "allow_negative", "basis"}
        extra = set(meta) - allowed
        if extra:
            bad = sorted(extra)[0]
            raise PharmsimError(f"with_value got an unexpected keyword {bad!r}; expected one of "
                                f"{', '.join(sorted(allowed))}{suggest(bad, allowed)}")
        cid = self._compound_id(compound)
        if not isinstance(quantity, str) or not quantity.strip():
            raise PharmsimError(f"quantity must be a quantity name such as 'Ki'; got {quantity!r}")
        target = self._check_choice("target", target, self._table["target"])
        name = f"{quantity} of {cid} at {target}"
        if unit is None or (isinstance(unit, str) and not unit.strip()):
            raise PharmsimError(f"unit of {name} must be given (e.g. 'nM'); got {unit!r} for value {value!r}")
        if not unit_known(unit):
            raise PharmsimError(f"unit of {name} must be a known unit; got {unit!r}{suggest(unit, _all_unit_names())}")
        if _pos_required(quantity):
            v = require_number(name, value, unit, minimum=0, strict=True)
        elif meta.get("allow_negative"):
            v = require_number(name, value, unit)
        else:
            v = require_number(name, value, unit)
            if v < 0:
                raise PharmsimError(f"{name} must be a finite number >= 0 {unit}; got {value!r}")
        basis = meta.get("basis", "-")
        if basis not in BASES:
            raise PharmsimError(f"basis must be one of {', '.join(map(repr, BASES))}; got {basis!r}"
                                f"{suggest(str(basis), BASES)}")
        status = meta.get("status", "assumption")
        if status not in STATUSES:
            raise PharmsimError(f"status must be one of {', '.join(map(repr, STATUSES))}; got {status!r}"
                                f"{suggest(status, STATUSES)}")
        row = {"compound": cid, "target": target, "pathway": pathway, "quantity": quantity, "value": v,
               "unit": unit, "species": meta.get("species", "-"), "assay": meta.get("assay", "set in code"),
               "source": source, "doi": meta.get("doi", "-"), "status": status, "preferred": True,
               "note": meta.get("note", "user override set in code"), "basis": basis, "table": "user"}
        t = self._table
        key = (t["compound"] == cid) & (t["target"] == target) & (t["pathway"] == pathway) & (t["quantity"] == quantity)
        t = t[~(key & (t["source"] == source))].copy()
        key = (t["compound"] == cid) & (t["target"] == target) & (t["pathway"] == pathway) & (t["quantity"] == quantity)
        t.loc[key, "preferred"] = False
        t = pd.concat([t, pd.DataFrame([row])], ignore_index=True)
        return replace(self, _table=t)

    def with_compound(self, compound: Compound) -> Library:
        """A new library that also knows ``compound`` (its id and aliases must not clash with existing ones)."""
        if not isinstance(compound, Compound):
            raise PharmsimError(f"compound must be a pharmsim.library.Compound; got {type(compound).__name__}")
        taken = {_norm(n): c.id for c in self._compounds for n in (c.id, c.name, *c.aliases)}
        for n in (compound.id, compound.name, *compound.aliases):
            if _norm(n) in taken:
                raise PharmsimError(f"compound name {n!r} is already used by {taken[_norm(n)]!r}; "
                                    "choose another id/alias")
        return replace(self, _compounds=self._compounds + (compound,))

    def prefer(self, quantity: str, compound: str, target: str, source: str, pathway: str | None = None,
               *, assay: str | None = None) -> Library:
        """A new library in which ``source``'s row is the default for this parameter."""
        p = self.parameter(quantity, compound, target, pathway, source, assay=assay)
        t = self._table.copy()
        key = ((t["compound"] == p.compound) & (t["target"] == p.target) & (t["pathway"] == p.pathway)
               & (t["quantity"] == p.quantity))
        t.loc[key, "preferred"] = False
        chosen = key & (t["source"] == p.source) & (t["assay"] == p.assay)
        t.loc[chosen, "preferred"] = True
        return replace(self, _table=t)

    def prefer_source(self, compound: str, target: str, source: str, *, pathway: str | None = None) -> Library:
        """A new library in which ``source`` is the default for *every* quantity it reports for ``compound`` at
        ``target`` (Ki, EC50, Emax, tau ...), so that numbers measured in one assay move together.

        Choosing an assay for the operational model must keep its K_A and tau together: K_A = EC50 (1 + tau)
        is only meaningful with the EC50 and the tau (from Emax) of the same concentration-response curves
        (Black & Leff 1983, doi:10.1098/rspb.1983.0093). ``prefer`` of one quantity would silently pair one
        assay's potency with another's efficacy; this method cannot.

        Parameters
        ----------
        compound, target : str
            E.g. ``'MG'``, ``'MOR'``.
        source : str
            A source with rows for the compound at the target (see :meth:`sources`).
        pathway : str, optional
            Only rows of this pathway (``'G protein'``, ``'beta-arrestin'``, ``'-'``).

        Raises
        ------
        PharmsimError
            When ``source`` has no row for the compound at the target (naming the sources that do).
        """
        cid = self._compound_id(compound)
        target = self._check_choice("target", target, self._table["target"])
        t = self._table
        here = (t["compound"] == cid) & (t["target"] == target)
        if pathway is not None:
            here &= t["pathway"] == self._check_choice("pathway", pathway, t.loc[here, "pathway"])
        have = list(dict.fromkeys(t.loc[here, "source"]))
        src = self._check_choice("source", source, have, f" for {cid} at {target}")
        out = self
        for _, r in t[here & (t["source"] == src)].iterrows():
            out = out.prefer(r["quantity"], cid, target, src, pathway=r["pathway"], assay=r["assay"])
        return out


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------


def data_dir() -> Path:
    """Where the data live: ``pharmsim/_data`` in an installed wheel, else the repository's ``data/``."""
    try:
        packaged = importlib.resources.files("pharmsim") / "_data"
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, TypeError, FileNotFoundError):  # pragma: no cover - exotic loaders
        pass
    return Path(__file__).resolve().parent.parent / "data"


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _load_compounds(path: Path) -> tuple[Compound, ...]:
    df = _read_csv(path)
    missing = [c for c in COMPOUND_COLUMNS if c not in df.columns]
    if missing:
        raise PharmsimError(f"{path.name} must have columns {', '.join(COMPOUND_COLUMNS)}; missing {missing}")
    out = []
    for i, r in df.iterrows():
        try:
            mm = float(r["molar_mass"])
        except ValueError:
            raise PharmsimError(
                f"{path.name} row {i + 2}: molar_mass must be a number; got {r['molar_mass']!r}") from None
        if r["unit"] != "g/mol":
            raise PharmsimError(f"{path.name} row {i + 2}: unit must be 'g/mol'; got {r['unit']!r}")
        aliases = tuple(a.strip() for a in r["aliases"].split(";") if a.strip())
        out.append(Compound(id=r["id"], name=r["name"], molar_mass_g_per_mol=mm, aliases=aliases, source=r["source"],
                            doi=r["doi"], formula=r["formula"], status=r["status"], note=r["note"]))
    return tuple(out)


def _load_table(path: Path) -> pd.DataFrame:
    df = _read_csv(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise PharmsimError(f"{path.name} must have columns {', '.join(COLUMNS)}; missing {missing}")
    extra = {c: (df[c] if c in df.columns else default) for c, default in OPTIONAL_COLUMNS.items()}
    df = df[list(COLUMNS)].copy()
    for c, v in extra.items():
        df[c] = v
        df.loc[df[c] == "", c] = OPTIONAL_COLUMNS[c]
    bad = ~df["basis"].isin(BASES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PharmsimError(f"{path.name} row {i + 2}: basis must be one of {', '.join(map(repr, BASES))}; got "
                            f"{df['basis'].iat[i]!r}")
    for i, v in enumerate(df["value"]):
        try:
            float(v)
        except ValueError:
            raise PharmsimError(f"{path.name} row {i + 2}: value must be a number; got {v!r}") from None
    df["value"] = df["value"].astype(float)
    bad = ~df["preferred"].isin(["0", "1"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise PharmsimError(f"{path.name} row {i + 2}: preferred must be 0 or 1; got {df['preferred'].iat[i]!r}")
    df["preferred"] = df["preferred"] == "1"
    df["table"] = path.stem
    return df


@functools.lru_cache(maxsize=8)
def _load(resolved: str) -> Library:
    folder = Path(resolved)
    comp_path = folder / "compounds.csv"
    if not comp_path.is_file():
        raise PharmsimError(f"data folder must contain compounds.csv; got {resolved!r}")
    compounds = _load_compounds(comp_path)
    tables = [_load_table(p) for p in sorted(folder.glob("*.csv")) if p.name != "compounds.csv"]
    table = (pd.concat(tables, ignore_index=True) if tables
             else pd.DataFrame({c: pd.Series(dtype=str) for c in (*COLUMNS, *OPTIONAL_COLUMNS, "table")}))
    known = {c.id for c in compounds} | {WHOLE_PRODUCT}
    unknown = sorted(set(table["compound"]) - known)
    if unknown:
        where = table[table["compound"] == unknown[0]]["table"].iat[0]
        raise PharmsimError(f"{where}.csv: compound must be an id from compounds.csv "
                            f"({', '.join(sorted(known - {WHOLE_PRODUCT}))}); got {unknown[0]!r}"
                            f"{suggest(unknown[0], known)}")
    return Library(_table=table, _compounds=compounds, path=resolved)


def load_library(path: str | Path | None = None) -> Library:
    """Read every ``*.csv`` in ``path`` (default: :func:`data_dir`) into an immutable :class:`Library`.

    ``compounds.csv`` gives the compounds; every other CSV must have the columns :data:`COLUMNS` and may have the
    :data:`OPTIONAL_COLUMNS` (``basis``) after them.
    Results are cached per resolved folder (the library is immutable, so sharing it is safe).
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise PharmsimError(f"path must be a folder containing the data CSVs; got {type(path).__name__} {path!r}"
                            [:200])
    folder = data_dir() if path is None else Path(path)
    if not folder.is_dir():
        raise PharmsimError(f"path must be a folder containing the data CSVs; got {str(path)!r}")
    return _load(str(folder.resolve()))
