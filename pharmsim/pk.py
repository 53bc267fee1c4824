"""Compartment pharmacokinetics as plain data: structures, parameters with their metadata, and the matrix.

A model is frozen data (:class:`PKModel`): for each compound (:class:`CompoundPK`) its disposition (1, 2 or
3 compartments), its extravascular routes (:class:`Route`: first-order absorption from a depot with rate ka,
bioavailability F and lag time, optionally behind a chain of transit compartments), an elimination
accumulator, and optionally an effect site; :class:`Conversion` rows couple a parent to a metabolite. The
parameters live in one flat mapping of qualified names, each a scalar or an (N,) array for N subjects. The
names are made in one place, :meth:`CompoundPK.parameter_info` and :meth:`Conversion.parameter_info`, each
with its metadata (:class:`ParamInfo`: compound, route, role, kind, unit), which populations, tables and
reports read instead of parsing names back:

================================  ========  =================================================================
``"<c>.CL_L_per_h"``              L/h       clearance from the central compartment (apparent CL/F if F=1)
``"<c>.V_L"``                     L         central volume
``"<c>.Q_L_per_h"``, ``Vp_L``     L/h, L    inter-compartmental clearance and peripheral volume (2, 3 cmt)
``"<c>.Q2_L_per_h"``, ``Vp2_L``   L/h, L    second peripheral compartment (3 cmt)
``"<c>.fu"``                      1         unbound fraction in plasma
``"<c>.ke0_per_h"``               1/h       effect-site equilibration rate constant (if an effect site)
``"<c>.Vmax_nmol_per_h"``, ``Km_nM``        saturable elimination (nonlinear: ODE path)
``"<c>.<route>.ka_per_h"``        1/h       absorption rate constant of an extravascular route
``"<c>.<route>.F"``               1         bioavailability of the route (relative values above 1 allowed)
``"<c>.<route>.tlag_h"``          h         lag time of the route
``"<c>.<route>.mtt_h"``           h         mean transit time to the depot (routes with transit compartments)
``"<m>.fm"``                      1         fraction of the parent's clearance that forms metabolite m
``"<m>.Vmax_form_nmol_per_h"``,   nmol/h,   saturable (Michaelis-Menten) formation of m instead of fm
``"<m>.Km_form_nM"``              nM        (nonlinear: ODE path)
``"<p>.<route>.fpre_<m>"``        1         fraction of absorbed parent converted presystemically to m
================================  ========  =================================================================

Equations (amounts A in nmol, so parent -> metabolite conversion is molar, one mole of 7-OH-MG per mole of
MG converted; masses enter only at the edges through molar masses)::

    dA_tr1/dt   = -k_tr A_tr1                     k_tr = n / MTT (n transit compartments; the dose enters tr1;
    dA_trk/dt   =  k_tr A_tr(k-1) - k_tr A_trk     MTT is the mean time to reach the depot; Savic 2007,
    dA_depot/dt =  k_tr A_trn - ka A_depot         J Pharmacokinet Pharmacodyn 34:711, doi:10.1007/s10928-007-9066-0,
                                                   count n+1 transfers: their n is ours minus one)
    dA_c/dt  = (1 - fpre) ka A_depot - (CL + Q + Q2)/V A_c + Q/Vp A_p + Q2/Vp2 A_p2
    metabolite central additionally gains  fm CL_p/V_p A_c,p + fpre ka A_depot,p
               (or, saturable, Vmax_form C_p/(Km_form + C_p) with C_p = A_c,p/V_p; Michaelis & Menten 1913)
    dA_p/dt  = Q/V A_c - Q/Vp A_p
    dA_el/dt = (1 - sum fm) CL/V A_c              (elimination accumulator: dosed*F = in body + eliminated)
    dCe/dt   = ke0 (fu A_c / V - Ce)              (effect site, a concentration state in nM fed by the unbound
                                                   plasma concentration; Sheiner 1979, Clin Pharmacol Ther
                                                   25:358, doi:10.1002/cpt1979253358 — it holds no mass)

:meth:`PKModel.matrix` gives the linear part ``dx/dt = A x``; :meth:`PKModel.nonlinear_terms` lists the
saturable parts. Solving is :mod:`pharmsim.solve`'s job (exact matrix exponential for linear models, ODE
for the rest).

Not for: solving (see :mod:`pharmsim.solve`), receptor binding or effects, population variability (the
caller passes (N,) parameter arrays; :mod:`pharmsim.population` draws them), reading files or choosing
default values (see :mod:`pharmsim.catalog`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_finite, require_fraction, require_nonnegative, suggest

__all__ = [
    "IV",
    "KINDS",
    "ParamInfo",
    "Route",
    "CompoundPK",
    "Conversion",
    "PKModel",
    "combine",
    "state_table",
    "parameter_table",
]

IV = "iv"

#: Kinds of PK parameter: what a population does with them (log-normal or logit variability, allometry) and
#: which values are allowed.
KINDS = ("clearance", "volume", "fraction", "bioavailability", "rate", "time", "concentration", "amount_rate")


@dataclass(frozen=True)
class ParamInfo:
    """What a PK parameter name means, made where the name is made.

    Attributes
    ----------
    name : str
        The qualified name, e.g. ``"MG.tea.ka_per_h"``.
    compound : str
        The compound it belongs to (for ``fm``/``fpre``: the metabolite formed).
    role : str
        The symbol: ``CL``, ``V``, ``Q``, ``Vp``, ``Q2``, ``Vp2``, ``fu``, ``ke0``, ``Vmax``, ``Km``, ``ka``,
        ``F``, ``tlag``, ``mtt``, ``fm``, ``Vmax_form``, ``Km_form``, ``fpre``.
    kind : str
        One of :data:`KINDS`: ``clearance`` and ``amount_rate`` scale allometrically like clearances,
        ``volume`` like volumes; ``fraction`` lies in [0, 1] (logit variability); ``bioavailability`` is a
        fraction or a relative value above 1 (log-normal variability).
    unit : str
    route : str or None
        The extravascular route of route parameters (``ka``, ``F``, ``tlag``, ``mtt``, ``fpre``).
    parent : str or None
        The parent compound of formation parameters (``fm``, ``fpre``, ``Vmax_form``, ``Km_form``).
    """

    name: str
    compound: str
    role: str
    kind: str
    unit: str
    route: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class Route:
    """An extravascular route: a depot with first-order absorption, optionally behind transit compartments.

    Parameters
    ----------
    name : str
        Route name (``'oral'``, ``'tea'``, ``'capsule'`` ...); ``'iv'`` is reserved for the central compartment.
    n_transit : int
        Transit compartments before the depot (0 = plain first-order absorption).
    """

    name: str = "oral"
    n_transit: int = 0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or "." in self.name or self.name == IV:
            raise PharmsimError(f"Route.name must be a non-empty name without '.', not 'iv'; got {self.name!r}")
        if isinstance(self.n_transit, bool) or not float(self.n_transit).is_integer() or self.n_transit < 0:
            raise PharmsimError(f"Route.n_transit must be a whole number >= 0; got {self.n_transit!r}")
        object.__setattr__(self, "n_transit", int(self.n_transit))


@dataclass(frozen=True)
class CompoundPK:
    """Structure of one compound's PK (its parameters live in :attr:`PKModel.parameters`).

    Parameters
    ----------
    compound : str
        Compound id (``'MG'``, ``'7-OH-MG'``, ``'morphine'``...).
    molar_mass_g_per_mol : float
        For ng/mL outputs (``c[ng/mL] = c[nM] * M / 1000``).
    n_compartments : {1, 2, 3}
        Disposition compartments (central + peripherals).
    routes : tuple of Route
        Extravascular routes (IV into the central compartment always exists).
    effect_site : bool
        Add an effect-site concentration state ``Ce`` fed by the unbound plasma concentration.
    saturable : bool
        Add Michaelis-Menten elimination (``Vmax_nmol_per_h``, ``Km_nM``): a nonlinear model, solved by ODE.
    """

    compound: str
    molar_mass_g_per_mol: float
    n_compartments: int = 1
    routes: tuple[Route, ...] = (Route("oral"),)
    effect_site: bool = False
    saturable: bool = False

    def __post_init__(self):
        if not isinstance(self.compound, str) or not self.compound or "." in self.compound:
            raise PharmsimError(f"compound must be a non-empty id without '.'; got {self.compound!r}")
        require_nonnegative("molar_mass_g_per_mol", self.molar_mass_g_per_mol, "g/mol")
        if self.n_compartments not in (1, 2, 3):
            raise PharmsimError(f"n_compartments of {self.compound} must be 1, 2 or 3; got {self.n_compartments!r}")
        routes = tuple(Route(r) if isinstance(r, str) else r for r in self.routes)
        names = [r.name for r in routes]
        if len(set(names)) != len(names):
            raise PharmsimError(f"route names of {self.compound} must be unique; got {names}")
        object.__setattr__(self, "routes", routes)

    def state_names(self) -> tuple[str, ...]:
        c = self.compound
        s = []
        for r in self.routes:
            s += [f"{c}.{r.name}.transit{k}" for k in range(1, r.n_transit + 1)]
            s.append(f"{c}.{r.name}.depot")
        s.append(f"{c}.central")
        if self.n_compartments >= 2:
            s.append(f"{c}.peripheral")
        if self.n_compartments == 3:
            s.append(f"{c}.peripheral2")
        s.append(f"{c}.eliminated")
        if self.effect_site:
            s.append(f"{c}.effect")
        return tuple(s)

    def parameter_info(self) -> tuple[ParamInfo, ...]:
        """Every parameter of this compound with its metadata (the one place these names are made)."""
        c = self.compound
        info = [ParamInfo(f"{c}.CL_L_per_h", c, "CL", "clearance", "L/h"),
                ParamInfo(f"{c}.V_L", c, "V", "volume", "L"),
                ParamInfo(f"{c}.fu", c, "fu", "fraction", "fraction")]
        if self.n_compartments >= 2:
            info += [ParamInfo(f"{c}.Q_L_per_h", c, "Q", "clearance", "L/h"),
                     ParamInfo(f"{c}.Vp_L", c, "Vp", "volume", "L")]
        if self.n_compartments == 3:
            info += [ParamInfo(f"{c}.Q2_L_per_h", c, "Q2", "clearance", "L/h"),
                     ParamInfo(f"{c}.Vp2_L", c, "Vp2", "volume", "L")]
        if self.effect_site:
            info.append(ParamInfo(f"{c}.ke0_per_h", c, "ke0", "rate", "1/h"))
        if self.saturable:
            info += [ParamInfo(f"{c}.Vmax_nmol_per_h", c, "Vmax", "amount_rate", "nmol/h"),
                     ParamInfo(f"{c}.Km_nM", c, "Km", "concentration", "nM")]
        for r in self.routes:
            base = f"{c}.{r.name}"
            info += [ParamInfo(f"{base}.ka_per_h", c, "ka", "rate", "1/h", route=r.name),
                     ParamInfo(f"{base}.F", c, "F", "bioavailability", "fraction", route=r.name),
                     ParamInfo(f"{base}.tlag_h", c, "tlag", "time", "h", route=r.name)]
            if r.n_transit:
                info.append(ParamInfo(f"{base}.mtt_h", c, "mtt", "time", "h", route=r.name))
        return tuple(info)

    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameter_info())


#: Kinetics of a parent -> metabolite conversion.
FORMATION_KINETICS = ("linear", "michaelis-menten")


@dataclass(frozen=True)
class Conversion:
    """Parent -> metabolite (molar: amounts are in nmol).

    ``kinetics='linear'`` (default): a fraction ``"<metabolite>.fm"`` of the parent's clearance forms the
    metabolite. ``kinetics='michaelis-menten'``: the metabolite is formed at ``Vmax_form C/(Km_form + C)``
    (``"<m>.Vmax_form_nmol_per_h"``, ``"<m>.Km_form_nM"``, C the parent's plasma concentration), in addition
    to the parent's linear clearance ``CL`` (which then forms nothing); linear at ``C << Km_form`` with
    formation clearance ``Vmax_form/Km_form``, zero-order at ``C >> Km_form`` (Michaelis & Menten 1913). The
    nonlinear model is solved by ODE.

    With ``presystemic=True`` a fraction ``"<parent>.<route>.fpre_<metabolite>"`` of the parent absorbed from
    each extravascular route is converted before it reaches the circulation (gut wall / first hepatic pass):
    the depot empties at rate ka, ``(1 - fpre)`` into the parent's and ``fpre`` into the metabolite's central
    compartment. (Mechanism: 7-OH-MG was detected after oral but not after i.v. mitragynine in dogs, Maxwell
    2020, Planta Med 86:1278, doi:10.1055/a-1212-5475; kratom inhibits intestinal CYP3A, Tanna 2023.)

    ``enzyme`` names the enzyme that forms the metabolite (``'CYP3A4'`` for MG -> 7-OH-MG), so that an
    inhibitor of that enzyme lowers ``fm`` and ``fpre`` (:mod:`pharmsim.population`).
    """

    parent: str
    metabolite: str
    presystemic: bool = False
    enzyme: str = ""
    kinetics: str = "linear"

    def __post_init__(self):
        if self.kinetics not in FORMATION_KINETICS:
            raise PharmsimError(f"Conversion.kinetics must be one of {FORMATION_KINETICS}; got {self.kinetics!r}"
                                f"{suggest(str(self.kinetics), FORMATION_KINETICS)}")

    def parameter_info(self, parent: CompoundPK) -> tuple[ParamInfo, ...]:
        m, p = self.metabolite, self.parent
        if self.kinetics == "linear":
            info = [ParamInfo(f"{m}.fm", m, "fm", "fraction", "fraction", parent=p)]
        else:
            info = [ParamInfo(f"{m}.Vmax_form_nmol_per_h", m, "Vmax_form", "amount_rate", "nmol/h", parent=p),
                    ParamInfo(f"{m}.Km_form_nM", m, "Km_form", "concentration", "nM", parent=p)]
        if self.presystemic:
            info += [ParamInfo(f"{p}.{r.name}.fpre_{m}", m, "fpre", "fraction", "fraction", route=r.name, parent=p)
                     for r in parent.routes]
        return tuple(info)


def _check_param(info: ParamInfo, value) -> np.ndarray:
    """Validate one parameter by its kind (metadata, not its name)."""
    name, kind = info.name, info.kind
    if kind == "fraction":
        arr = require_fraction(name, value)
    elif kind in ("clearance", "amount_rate", "rate", "time", "bioavailability"):
        # CL = 0 is allowed (e.g. only saturable elimination); ka = 0, tlag = 0, F = 0 too
        arr = require_nonnegative(name, value, info.unit)
    else:  # volumes and concentrations (Km) must be > 0
        arr = require_finite(name, value, info.unit)
        if (arr <= 0).any():
            raise PharmsimError(f"{name} must be a finite number > 0 {info.unit}; got {arr[arr <= 0].flat[0]!r}")
    if arr.ndim > 1:
        raise PharmsimError(f"{name} must be a scalar or an (N,) array (one value per subject); got shape {arr.shape}")
    return arr


@dataclass(frozen=True)
class PKModel:
    """A PK model: compounds (block-diagonal), parent -> metabolite couplings and a flat parameter mapping.

    Build one with :class:`CompoundPK` objects and a parameter dict (names in the module docstring; the
    names and their metadata: :attr:`parameter_info`), combine models with :func:`combine`, replace
    parameters with :meth:`with_parameters`, solve with :func:`pharmsim.solve.solve_pk`.
    """

    compounds: tuple[CompoundPK, ...]
    conversions: tuple[Conversion, ...] = ()
    parameters: Mapping[str, object] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        comps = tuple(self.compounds)
        ids = [c.compound for c in comps]
        if len(set(ids)) != len(ids):
            raise PharmsimError(f"compounds in a PKModel must be unique; got {ids}")
        object.__setattr__(self, "compounds", comps)
        object.__setattr__(self, "conversions", tuple(self.conversions))
        seen_met = set()
        for cv in self.conversions:
            for role, c in (("parent", cv.parent), ("metabolite", cv.metabolite)):
                if c not in ids:
                    raise PharmsimError(
                        f"Conversion {role} {c!r} is not a compound of the model ({ids}){suggest(c, ids)}")
            if cv.metabolite in seen_met:
                raise PharmsimError(f"metabolite {cv.metabolite!r} has more than one parent; one Conversion each")
            seen_met.add(cv.metabolite)
        info = self.parameter_info
        given = dict(self.parameters)
        unknown = [p for p in given if p not in info]
        if unknown:
            raise PharmsimError(
                f"unknown PK parameter(s) {unknown}{suggest(unknown[0], info)}; known: {list(info)}")
        missing = [p for p in info if p not in given]
        if missing:
            raise PharmsimError(f"PKModel is missing parameter(s) {missing}")
        params = {k: _check_param(info[k], given[k]) for k in info}
        object.__setattr__(self, "parameters", MappingProxyType(params))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        sizes = {np.size(v) for v in params.values() if np.ndim(v) == 1}
        if len(sizes) > 1:
            raise PharmsimError(f"parameter arrays must share one length N (subjects); got lengths {sorted(sizes)}")
        for parent in {cv.parent for cv in self.conversions}:
            linear = [cv for cv in self.conversions if cv.parent == parent and cv.kinetics == "linear"]
            total = sum(params[f"{cv.metabolite}.fm"] for cv in linear) if linear else 0.0
            if np.any(np.asarray(total) > 1 + 1e-12):
                raise PharmsimError(f"the fractions fm of {parent}'s metabolites add up to more than 1: {total!r}")
            for r in self.compound(parent).routes:
                keys = [f"{parent}.{r.name}.fpre_{cv.metabolite}" for cv in self.conversions
                        if cv.parent == parent and cv.presystemic]
                total = sum((params[k] for k in keys), np.zeros(1))
                if np.any(total > 1 + 1e-12):
                    raise PharmsimError(f"the presystemic fractions {keys} add up to more than 1: {total!r}")

    # ----------------------------------------------------------------------------------------- structure
    @cached_property
    def parameter_info(self) -> Mapping[str, ParamInfo]:
        """``{name: ParamInfo}`` of every parameter, in model order (made once, with the names)."""
        out = {}
        by_id = {c.compound: c for c in self.compounds}
        for c in self.compounds:
            for p in c.parameter_info():
                out[p.name] = p
        for cv in self.conversions:
            for p in cv.parameter_info(by_id[cv.parent]):
                out[p.name] = p
        return MappingProxyType(out)

    @property
    def states(self) -> tuple[str, ...]:
        """State names, ``'<compound>.<state>'``; amounts in nmol, effect sites in nM."""
        return tuple(s for c in self.compounds for s in c.state_names())

    def index(self, state: str) -> int:
        """Position of a state name."""
        st = self.states
        if state not in st:
            raise PharmsimError(f"unknown state {state!r}{suggest(state, st)}; states: {list(st)}")
        return st.index(state)

    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameter_info)

    def compound(self, compound: str) -> CompoundPK:
        for c in self.compounds:
            if c.compound == compound:
                return c
        ids = [c.compound for c in self.compounds]
        raise PharmsimError(f"unknown compound {compound!r}{suggest(compound, ids)}; the model has {ids}")

    @property
    def compound_ids(self) -> tuple[str, ...]:
        return tuple(c.compound for c in self.compounds)

    @property
    def is_linear(self) -> bool:
        """True when every part is first order (solved exactly); saturable elimination or formation is not."""
        return not any(c.saturable for c in self.compounds) and all(
            cv.kinetics == "linear" for cv in self.conversions)

    @property
    def n_subjects(self) -> int:
        n = [np.size(v) for v in self.parameters.values() if np.ndim(v) == 1]
        return max(n, default=1)

    def with_parameters(self, values: Mapping[str, object] | None = None, **kw) -> PKModel:
        """A copy with some parameters replaced (scalars or (N,) arrays)."""
        new = dict(self.parameters)
        new.update(dict(values or {}))
        new.update(kw)
        src = dict(self.sources)
        for k in list(dict(values or {})) + list(kw):
            src[k] = "user"
        return PKModel(self.compounds, self.conversions, new, src)

    def subset(self, idx) -> PKModel:
        """The model for the subjects ``idx`` (a slice or index array) when parameters are per subject."""
        if self.n_subjects == 1:
            return self
        p = {k: (v[idx] if np.ndim(v) == 1 else v) for k, v in self.parameters.items()}
        return PKModel(self.compounds, self.conversions, p, self.sources)

    def routes_of(self, compound: str) -> tuple[str, ...]:
        """``'iv'`` and the extravascular routes of ``compound``."""
        return (IV,) + tuple(r.name for r in self.compound(compound).routes)

    def route_state(self, compound: str, route: str) -> int:
        """Index of the state a dose by ``route`` enters (``'iv'`` -> central)."""
        c = self.compound(compound)
        if route == IV:
            return self.index(f"{compound}.central")
        for r in c.routes:
            if r.name == route:
                first = f"{compound}.{route}.transit1" if r.n_transit else f"{compound}.{route}.depot"
                return self.index(first)
        names = [IV] + [r.name for r in c.routes]
        raise PharmsimError(f"unknown route {route!r} for {compound}{suggest(route, names)}; routes: {names}")

    def route_F_lag(self, compound: str, route: str) -> tuple[np.ndarray, np.ndarray]:
        """Bioavailability and lag time (h) of a route (IV: 1 and 0)."""
        self.route_state(compound, route)
        if route == IV:
            return np.asarray(1.0), np.asarray(0.0)
        p = self.parameters
        return p[f"{compound}.{route}.F"], p[f"{compound}.{route}.tlag_h"]

    def mass_states(self) -> np.ndarray:
        """Indices of the amount states (all but effect sites): their sum is the bioavailable amount dosed."""
        return np.array([i for i, s in enumerate(self.states) if not s.endswith(".effect")], dtype=int)

    def effect_states(self) -> dict[str, int]:
        """``{compound: index}`` of the effect-site states."""
        return {c.compound: self.index(f"{c.compound}.effect") for c in self.compounds if c.effect_site}

    def central_states(self) -> dict[str, int]:
        """``{compound: index}`` of the central compartments (amounts, nmol)."""
        return {c.compound: self.index(f"{c.compound}.central") for c in self.compounds}

    # ----------------------------------------------------------------------------------------- matrix
    def matrix(self) -> np.ndarray:
        """System matrix ``A`` (1/h) of the linear part ``dx/dt = A x``: (n, n), or (N, n, n) when parameters
        are per subject. Saturable parts are left out (see :meth:`nonlinear_terms`).

        Column j holds the first-order rates out of state j (the module docstring lists the equations).
        """
        N = self.n_subjects
        n = len(self.states)
        A = np.zeros((N, n, n))
        p = {k: np.broadcast_to(v, (N,)) for k, v in self.parameters.items()}
        idx = {s: i for i, s in enumerate(self.states)}

        def flow(src, dst, k):
            A[:, idx[src], idx[src]] -= k
            if dst is not None:
                A[:, idx[dst], idx[src]] += k

        for c in self.compounds:
            cid = c.compound
            central = f"{cid}.central"
            V = p[f"{cid}.V_L"]
            for r in c.routes:
                base = f"{cid}.{r.name}"
                if r.n_transit:
                    ktr = r.n_transit / p[f"{base}.mtt_h"]
                    for k in range(1, r.n_transit + 1):
                        nxt = f"{base}.transit{k + 1}" if k < r.n_transit else f"{base}.depot"
                        flow(f"{base}.transit{k}", nxt, ktr)
                ka = p[f"{base}.ka_per_h"]
                fpre_total = np.zeros(N)
                for cv in self.conversions:
                    if cv.parent == cid and cv.presystemic:
                        fpre = p[f"{base}.fpre_{cv.metabolite}"]
                        fpre_total = fpre_total + fpre
                        flow(f"{base}.depot", f"{cv.metabolite}.central", ka * fpre)
                flow(f"{base}.depot", central, ka * (1.0 - fpre_total))
            k10 = p[f"{cid}.CL_L_per_h"] / V
            fm_total = np.zeros(N)
            for cv in self.conversions:
                if cv.parent == cid and cv.kinetics == "linear":
                    fm = p[f"{cv.metabolite}.fm"]
                    fm_total = fm_total + fm
                    flow(central, f"{cv.metabolite}.central", fm * k10)
            flow(central, f"{cid}.eliminated", (1.0 - fm_total) * k10)
            for q, vp, per in (("Q_L_per_h", "Vp_L", "peripheral"), ("Q2_L_per_h", "Vp2_L", "peripheral2")):
                if f"{cid}.{per}" in idx:
                    Q, Vp = p[f"{cid}.{q}"], p[f"{cid}.{vp}"]
                    flow(central, f"{cid}.{per}", Q / V)
                    flow(f"{cid}.{per}", central, Q / Vp)
            if c.effect_site:
                ke0 = p[f"{cid}.ke0_per_h"]
                e = idx[f"{cid}.effect"]
                A[:, e, idx[central]] += ke0 * p[f"{cid}.fu"] / V
                A[:, e, e] -= ke0
        return A[0] if all(np.ndim(v) == 0 for v in self.parameters.values()) else A

    def nonlinear_terms(self) -> tuple[tuple, ...]:
        """The saturable parts, each ``(source state, destination state, Vmax name, Km name, V name)``:
        a flow ``Vmax C/(Km + C)`` (nmol/h) from the source (a central compartment, ``C = A/V`` in nM) to the
        destination. Saturable elimination goes to the compound's ``eliminated`` state, saturable formation to
        the metabolite's central compartment."""
        terms = []
        for c in self.compounds:
            if c.saturable:
                cid = c.compound
                terms.append((self.index(f"{cid}.central"), self.index(f"{cid}.eliminated"),
                              f"{cid}.Vmax_nmol_per_h", f"{cid}.Km_nM", f"{cid}.V_L"))
        for cv in self.conversions:
            if cv.kinetics != "linear":
                m, p = cv.metabolite, cv.parent
                terms.append((self.index(f"{p}.central"), self.index(f"{m}.central"),
                              f"{m}.Vmax_form_nmol_per_h", f"{m}.Km_form_nM", f"{p}.V_L"))
        return tuple(terms)


def combine(*models: PKModel) -> PKModel:
    """One block-diagonal model from several (e.g. kratom + morphine + naloxone); conversions and
    parameters are merged, compound ids must be distinct."""
    comps, convs, params, src = [], [], {}, {}
    for m in models:
        comps += list(m.compounds)
        convs += list(m.conversions)
        params.update(m.parameters)
        src.update(m.sources)
    return PKModel(tuple(comps), tuple(convs), params, src)


def state_table(model: PKModel) -> pd.DataFrame:
    """The model's states with their unit (for teaching: which row of A is which)."""
    return pd.DataFrame({"state": model.states,
                         "unit": ["nM" if s.endswith(".effect") else "nmol" for s in model.states]})


def parameter_table(model: PKModel) -> pd.DataFrame:
    """The model's parameters (typical value: the median of per-subject values) with metadata and source."""
    rows = []
    for k, v in model.parameters.items():
        i = model.parameter_info[k]
        rows.append({"parameter": k, "compound": i.compound, "route": i.route or "-", "role": i.role,
                     "kind": i.kind, "value": float(np.median(v)), "unit": i.unit,
                     "source": model.sources.get(k, "")})
    return pd.DataFrame(rows, columns=["parameter", "compound", "route", "role", "kind", "value", "unit", "source"])
