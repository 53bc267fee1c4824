"""Linear compartment pharmacokinetics as matrices, solved exactly (or by ODE for saturable elimination).

A model is plain, frozen data (:class:`PKModel`): for each compound (:class:`CompoundPK`) its disposition
(1, 2 or 3 compartments), its extravascular routes (:class:`Route`: first-order absorption from a depot with
rate ka, bioavailability F and lag time, optionally behind a chain of transit compartments), an
elimination accumulator, and optionally an effect site; :class:`Conversion` rows couple a parent to a
metabolite. The parameters live in one flat mapping of qualified names, each a scalar or an (N,) array for
N subjects:

================================  ========  =================================================================
``"<c>.CL_L_per_h"``              L/h       clearance from the central compartment (apparent CL/F if F=1)
``"<c>.V_L"``                     L         central volume
``"<c>.Q_L_per_h"``, ``Vp_L``     L/h, L    inter-compartmental clearance and peripheral volume (2, 3 cmt)
``"<c>.Q2_L_per_h"``, ``Vp2_L``   L/h, L    second peripheral compartment (3 cmt)
``"<c>.fu"``                      1         unbound fraction in plasma
``"<c>.ke0_per_h"``               1/h       effect-site equilibration rate constant (if an effect site)
``"<c>.Vmax_nmol_per_h"``, ``Km_nM``        saturable elimination (ODE path only)
``"<c>.<route>.ka_per_h"``        1/h       absorption rate constant of an extravascular route
``"<c>.<route>.F"``               1         bioavailability of the route
``"<c>.<route>.tlag_h"``          h         lag time of the route
``"<c>.<route>.mtt_h"``           h         mean transit time to the depot (routes with transit compartments)
``"<m>.fm"``                      1         fraction of the parent's clearance that forms metabolite m
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
    dA_p/dt  = Q/V A_c - Q/Vp A_p
    dA_el/dt = (1 - sum fm) CL/V A_c              (elimination accumulator: dosed*F = in body + eliminated)
    dCe/dt   = ke0 (fu A_c / V - Ce)              (effect site, a concentration state in nM fed by the unbound
                                                   plasma concentration; Sheiner 1979, Clin Pharmacol Ther
                                                   25:358, doi:10.1002/cpt1979253358 — it holds no mass)

The exact solution between events uses :func:`pharmsim.linear.solve_linear` (matrix exponential); the ODE
path (:func:`scipy.integrate.solve_ivp`) adds saturable elimination ``Vmax C/(Km + C)`` (nmol/h, with
``C = A_c/V``) to the same matrix and takes the same inputs.

Not for: receptor binding or effects (see binding/receptor modules), population variability (the caller
passes (N,) parameter arrays), reading files (defaults come through :mod:`pharmsim.library`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .dosing import Doses
from .linear import Inputs, solve_linear
from .validate import PharmsimError, require_choice, require_finite, require_fraction, require_nonnegative, suggest

__all__ = [
    "Route",
    "CompoundPK",
    "Conversion",
    "PKModel",
    "PKSolution",
    "solve",
    "combine",
    "state_table",
    "parameter_table",
    "default_model",
    "DEFAULT_COMPOUNDS",
    "REFERENCE_ROUTES",
]

IV = "iv"


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
        Add Michaelis-Menten elimination (``Vmax_nmol_per_h``, ``Km_nM``); solvable only by ``method='ode'``.
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

    def parameter_names(self) -> tuple[str, ...]:
        c = self.compound
        p = [f"{c}.CL_L_per_h", f"{c}.V_L", f"{c}.fu"]
        if self.n_compartments >= 2:
            p += [f"{c}.Q_L_per_h", f"{c}.Vp_L"]
        if self.n_compartments == 3:
            p += [f"{c}.Q2_L_per_h", f"{c}.Vp2_L"]
        if self.effect_site:
            p.append(f"{c}.ke0_per_h")
        if self.saturable:
            p += [f"{c}.Vmax_nmol_per_h", f"{c}.Km_nM"]
        for r in self.routes:
            p += [f"{c}.{r.name}.ka_per_h", f"{c}.{r.name}.F", f"{c}.{r.name}.tlag_h"]
            if r.n_transit:
                p.append(f"{c}.{r.name}.mtt_h")
        return tuple(p)


@dataclass(frozen=True)
class Conversion:
    """Parent -> metabolite: a fraction ``"<metabolite>.fm"`` of the parent's clearance forms the metabolite
    (molar: amounts are in nmol).

    With ``presystemic=True`` a fraction ``"<parent>.<route>.fpre_<metabolite>"`` of the parent absorbed from
    each extravascular route is converted before it reaches the circulation (gut wall / first hepatic pass):
    the depot empties at rate ka, ``(1 - fpre)`` into the parent's and ``fpre`` into the metabolite's central
    compartment. (Mechanism: 7-OH-MG was detected after oral but not after i.v. mitragynine in dogs, Maxwell
    2020, Planta Med 86:1278, doi:10.1055/a-1212-5475; kratom inhibits intestinal CYP3A, Tanna 2023.)
    """

    parent: str
    metabolite: str
    presystemic: bool = False


_POSITIVE = ("V_L", "Q_L_per_h", "Vp_L", "Q2_L_per_h", "Vp2_L", "Km_nM", "mtt_h")
_NONNEG = ("ka_per_h", "ke0_per_h", "Vmax_nmol_per_h", "tlag_h")
_FRACTION = ("fu", "F", "fm", "fpre")


def _check_param(name: str, value) -> np.ndarray:
    short = name.rsplit(".", 1)[-1].split("_")[0] if ".fpre_" in name else name.rsplit(".", 1)[-1]
    if short in _FRACTION:
        arr = require_fraction(name, value)
    elif short == "CL_L_per_h":
        arr = require_nonnegative(name, value, "L/h")  # CL = 0 allowed (e.g. only saturable elimination)
    elif short in _POSITIVE:
        arr = require_finite(name, value)
        if (arr <= 0).any():
            raise PharmsimError(f"{name} must be a finite number > 0; got {arr[arr <= 0].flat[0]!r}")
    elif short in _NONNEG:
        arr = require_nonnegative(name, value)
    else:
        arr = require_finite(name, value)
    if arr.ndim > 1:
        raise PharmsimError(f"{name} must be a scalar or an (N,) array (one value per subject); got shape {arr.shape}")
    return arr


@dataclass(frozen=True)
class PKModel:
    """A PK model: compounds (block-diagonal), parent -> metabolite couplings and a flat parameter mapping.

    Build one with :class:`CompoundPK` objects and a parameter dict (names in the module docstring), combine
    models with :func:`combine`, replace parameters with :meth:`with_parameters`, solve with :func:`solve`.
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
        params = {k: _check_param(k, v) for k, v in dict(self.parameters).items()}
        object.__setattr__(self, "parameters", MappingProxyType(params))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        missing = [p for p in self.parameter_names() if p not in params]
        if missing:
            raise PharmsimError(f"PKModel is missing parameter(s) {missing}")
        unknown = [p for p in params if p not in self.parameter_names()]
        if unknown:
            raise PharmsimError(
                f"unknown PK parameter(s) {unknown}{suggest(unknown[0], self.parameter_names())}; "
                f"known: {list(self.parameter_names())}")
        sizes = {np.size(v) for v in params.values() if np.ndim(v) == 1}
        if len(sizes) > 1:
            raise PharmsimError(f"parameter arrays must share one length N (subjects); got lengths {sorted(sizes)}")
        for parent in {cv.parent for cv in self.conversions}:
            total = sum(params[f"{cv.metabolite}.fm"] for cv in self.conversions if cv.parent == parent)
            if np.any(np.asarray(total) > 1 + 1e-12):
                raise PharmsimError(f"the fractions fm of {parent}'s metabolites add up to more than 1: {total!r}")
            for r in self.compound(parent).routes:
                keys = [f"{parent}.{r.name}.fpre_{cv.metabolite}" for cv in self.conversions
                        if cv.parent == parent and cv.presystemic]
                total = sum((params[k] for k in keys), np.zeros(1))
                if np.any(total > 1 + 1e-12):
                    raise PharmsimError(f"the presystemic fractions {keys} add up to more than 1: {total!r}")

    # ----------------------------------------------------------------------------------------- structure
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
        names = [p for c in self.compounds for p in c.parameter_names()]
        names += [f"{cv.metabolite}.fm" for cv in self.conversions]
        for cv in self.conversions:
            if cv.presystemic:
                names += [f"{cv.parent}.{r.name}.fpre_{cv.metabolite}" for r in self.compound(cv.parent).routes]
        return tuple(names)

    def compound(self, compound: str) -> CompoundPK:
        for c in self.compounds:
            if c.compound == compound:
                return c
        ids = [c.compound for c in self.compounds]
        raise PharmsimError(f"unknown compound {compound!r}{suggest(compound, ids)}; the model has {ids}")

    @property
    def is_linear(self) -> bool:
        return not any(c.saturable for c in self.compounds)

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

    # ----------------------------------------------------------------------------------------- matrix
    def matrix(self) -> np.ndarray:
        """System matrix ``A`` (1/h) of ``dx/dt = A x``: (n, n), or (N, n, n) when parameters are per subject.

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
            mets = [cv.metabolite for cv in self.conversions if cv.parent == cid]
            fm_total = np.zeros(N)
            for m in mets:
                fm = p[f"{m}.fm"]
                fm_total = fm_total + fm
                flow(central, f"{m}.central", fm * k10)
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


# --------------------------------------------------------------------------------------------- solution
@dataclass(frozen=True)
class PKSolution:
    """Amounts on the output grid, with concentration helpers.

    Attributes
    ----------
    model : PKModel
    t_h : (T,) array
    amounts : (N, T, n) array
        State amounts (nmol; effect-site states in nM).
    dosed_nmol : (N, T, C) array
        Cumulative bioavailable amount (F * dose, after lag; infusions pro rata) of each compound that has
        entered the body by each time, for mass balance: ``sum over the compound's chain of amount states``
        equals the dosed amount of the chain (one mole of metabolite per mole of parent).
    """

    model: PKModel
    t_h: np.ndarray
    amounts: np.ndarray
    dosed_nmol: np.ndarray

    def amount(self, state: str) -> np.ndarray:
        """(N, T) amount of one state (nmol; nM for an effect site)."""
        return self.amounts[:, :, self.model.index(state)]

    def _V(self, compound):
        return np.broadcast_to(self.model.parameters[f"{compound}.V_L"], (self.amounts.shape[0],))[:, None]

    def conc_nM(self, compound: str) -> np.ndarray:
        """(N, T) total plasma concentration ``C = A_central / V`` (nM = nmol/L)."""
        return self.amount(f"{compound}.central") / self._V(compound)

    def conc_ng_per_mL(self, compound: str) -> np.ndarray:
        """(N, T) total plasma concentration in ng/mL (``C[nM] * M / 1000``)."""
        return self.conc_nM(compound) * self.model.compound(compound).molar_mass_g_per_mol / 1000.0

    def unbound_nM(self, compound: str) -> np.ndarray:
        """(N, T) unbound plasma concentration ``fu * C`` (nM)."""
        fu = np.broadcast_to(self.model.parameters[f"{compound}.fu"], (self.amounts.shape[0],))[:, None]
        return fu * self.conc_nM(compound)

    def effect_nM(self, compound: str) -> np.ndarray:
        """(N, T) unbound effect-site concentration ``Ce`` (nM)."""
        return self.amount(f"{compound}.effect")

    def in_body_nmol(self) -> np.ndarray:
        """(N, T) total amount in all depots and compartments (nmol), excluding eliminated amounts."""
        keep = [i for i, s in enumerate(self.model.states) if not s.endswith((".effect", ".eliminated"))]
        return self.amounts[:, :, keep].sum(axis=-1)

    def eliminated_nmol(self) -> np.ndarray:
        """(N, T) total amount eliminated (not converted to a metabolite of the model) (nmol)."""
        keep = [i for i, s in enumerate(self.model.states) if s.endswith(".eliminated")]
        return self.amounts[:, :, keep].sum(axis=-1)

    def total_dosed_nmol(self) -> np.ndarray:
        """(N, T) bioavailable amount dosed so far, all compounds (nmol)."""
        return self.dosed_nmol.sum(axis=-1)

    def tidy(self) -> pd.DataFrame:
        """Long table: subject, time_h, quantity, compound, value, unit.

        Quantities: ``plasma_conc`` (nM and ng/mL), ``unbound_conc`` (nM), ``effect_conc`` (nM, if any),
        ``eliminated`` (nmol).
        """
        N, T = self.amounts.shape[:2]
        frames = []
        subj = np.repeat(np.arange(N), T)
        t = np.tile(self.t_h, N)

        def add(q, c, v, unit):
            frames.append(pd.DataFrame({"subject": subj, "time_h": t, "quantity": q, "compound": c,
                                        "value": np.asarray(v).reshape(-1), "unit": unit}))

        for c in self.model.compounds:
            cid = c.compound
            add("plasma_conc", cid, self.conc_nM(cid), "nM")
            add("plasma_conc", cid, self.conc_ng_per_mL(cid), "ng/mL")
            add("unbound_conc", cid, self.unbound_nM(cid), "nM")
            if c.effect_site:
                add("effect_conc", cid, self.effect_nM(cid), "nM")
            add("eliminated", cid, self.amount(f"{cid}.eliminated"), "nmol")
        return pd.concat(frames, ignore_index=True)


def _event_arrays(model: PKModel, doses: Doses, N: int):
    """Per-event target state, F (N, E) and lag (N, E)."""
    E = doses.n_events
    state = np.zeros(E, dtype=int)
    F = np.ones((N, E))
    lag = np.zeros((N, E))
    for e in range(E):
        state[e] = model.route_state(doses.compound[e], doses.route[e])
        f, tl = model.route_F_lag(doses.compound[e], doses.route[e])
        F[:, e] = np.broadcast_to(f, (N,))
        lag[:, e] = np.broadcast_to(tl, (N,))
    return state, F, lag


def _dosed(model: PKModel, doses: Doses, t, amounts, F, lag):
    """(N, T, C) cumulative bioavailable amount per compound."""
    ids = [c.compound for c in model.compounds]
    N = amounts.shape[0]
    out = np.zeros((N, t.size, len(ids)))
    for e in range(doses.n_events):
        start = doses.time_h[e] + lag[:, e][:, None]  # (N, 1)
        dur = doses.duration_h[e]
        if dur > 0:
            frac = np.clip((t[None, :] - start) / dur, 0.0, 1.0)
        else:
            frac = (t[None, :] >= start).astype(float)
        out[:, :, ids.index(doses.compound[e])] += frac * (F[:, e] * amounts[:, e])[:, None]
    return out


def solve(model: PKModel, t_h, doses: Doses | None = None, *, method: str = "exact", x0=None,
          t_start_h: float = 0.0, rtol: float = 1e-8, atol: float = 1e-9) -> PKSolution:
    """Simulate ``model`` with ``doses`` on the output times ``t_h`` (h), for all subjects at once.

    Parameters
    ----------
    model : PKModel
    t_h : (T,) array
        Output times (h), non-decreasing, >= ``t_start_h``. A bolus at t is included in the output at t.
    doses : Doses
        Events (amounts in nmol). Each event's F multiplies its amount (or infusion rate) and its route's
        lag time delays it.
    method : {'exact', 'ode'}
        ``'exact'``: matrix exponential between events (:func:`pharmsim.linear.solve_linear`); linear models
        only. ``'ode'``: :func:`scipy.integrate.solve_ivp` (LSODA) between events, with saturable elimination
        when the model has it.
    x0 : (n,) or (N, n) array, optional
        Initial state at ``t_start_h`` (nmol; nM for effect sites). Not counted as dosed in ``dosed_nmol``.
    rtol, atol : float
        ODE tolerances (``atol`` in nmol).

    Returns
    -------
    PKSolution
    """
    require_choice("method", method, ("exact", "ode"))
    doses = Doses() if doses is None else doses
    if not isinstance(doses, Doses):
        raise PharmsimError(f"doses must be a pharmsim.dosing.Doses; got {type(doses).__name__}")
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    if t.ndim != 1 or t.size == 0:
        raise PharmsimError(f"t_h must be a non-empty 1-D array of times in h; got shape {t.shape}")
    if np.any(np.diff(t) < 0):
        raise PharmsimError("t_h must be sorted (non-decreasing)")
    N = max(model.n_subjects, doses.n_subjects)
    if doses.n_subjects > 1 and model.n_subjects > 1 and doses.n_subjects != model.n_subjects:
        raise PharmsimError(f"doses are for {doses.n_subjects} subjects but parameters for {model.n_subjects}")
    state, F, lag = _event_arrays(model, doses, N)
    amounts = np.broadcast_to(doses.amount_nmol, (N, doses.n_events)).astype(float)
    A = model.matrix()
    if method == "exact" and not model.is_linear:
        raise PharmsimError("the model has saturable (Michaelis-Menten) elimination: use method='ode'")
    n = len(model.states)
    out = np.empty((N, t.size, n))
    # subjects with identical lag times share event times; solve each group in one batch
    lag_rows, group = np.unique(lag, axis=0, return_inverse=True) if lag.size else (np.zeros((1, 0)),
                                                                                   np.zeros(N, dtype=int))
    group = np.asarray(group).reshape(-1)
    for g in range(lag_rows.shape[0]):
        members = np.nonzero(group == g)[0]
        times = doses.time_h + lag_rows[g]
        amt = amounts[members] * F[members]
        bolus = doses.duration_h == 0
        start, end = times[~bolus], times[~bolus] + doses.duration_h[~bolus]
        if np.any(end <= start):
            e = int(np.nonzero(~bolus)[0][np.argmax(end <= start)])
            raise PharmsimError(
                f"the infusion of {doses.compound[e]} at {float(doses.time_h[e])!r} h (duration_h = "
                f"{float(doses.duration_h[e])!r} h, lag {float(lag_rows[g][e])!r} h) is too short to be represented "
                "after its lag time; give duration_h = 0 (a bolus) or a longer infusion")
        inp = Inputs(
            bolus_time_h=times[bolus], bolus_state=state[bolus], bolus_amount=amt[:, bolus],
            infusion_start_h=start, infusion_end_h=end, infusion_state=state[~bolus],
            # the rate over the duration as represented in floating point (end - start), so that the
            # amount delivered is the dose to round-off even for infusions of 1e-12 h
            infusion_rate=amt[:, ~bolus] / (end - start),
        )
        Ag = A if A.ndim == 2 else A[members]
        xg = None if x0 is None else (np.broadcast_to(require_finite("x0", x0), (N, n))[members])
        if method == "exact":
            out[members] = solve_linear(Ag, t, inp, x0=xg, t_start_h=t_start_h)
        else:
            sub = model if model.n_subjects == 1 else _subset(model, members)
            out[members] = _solve_ode(sub, Ag, t, inp, xg, t_start_h, len(members), rtol, atol)
    return PKSolution(model=model, t_h=t, amounts=out, dosed_nmol=_dosed(model, doses, t, amounts, F, lag))


def _subset(model: PKModel, members) -> PKModel:
    p = {k: (v[members] if np.ndim(v) == 1 else v) for k, v in model.parameters.items()}
    return PKModel(model.compounds, model.conversions, p, model.sources)


def _solve_ode(model: PKModel, A, t, inp: Inputs, x0, t0, N, rtol, atol):
    """Piecewise solve_ivp between events; all N subjects in one stacked system (N*n states)."""
    from scipy.integrate import solve_ivp

    n = len(model.states)
    A = np.broadcast_to(A, (N, n, n))
    sat = []
    for c in model.compounds:
        if c.saturable:
            cid = c.compound
            i_c = model.index(f"{cid}.central")
            mets = [(model.index(f"{cv.metabolite}.central"), np.broadcast_to(model.parameters[f"{cv.metabolite}.fm"],
                                                                                (N,)))
                    for cv in model.conversions if cv.parent == cid]
            fm_tot = sum((m[1] for m in mets), np.zeros(N))
            sat.append((i_c, model.index(f"{cid}.eliminated"),
                        np.broadcast_to(model.parameters[f"{cid}.Vmax_nmol_per_h"], (N,)),
                        np.broadcast_to(model.parameters[f"{cid}.Km_nM"], (N,)),
                        np.broadcast_to(model.parameters[f"{cid}.V_L"], (N,)), mets, fm_tot))
    bolus_amount = np.broadcast_to(inp.bolus_amount, (N, inp.bolus_time_h.size))
    inf_rate = np.broadcast_to(inp.infusion_rate, (N, inp.infusion_start_h.size))

    def rhs(_t, y, r):
        x = y.reshape(N, n)
        dx = np.einsum("nij,nj->ni", A, x) + r
        for i_c, i_el, vmax, km, V, mets, fm_tot in sat:
            C = x[:, i_c] / V
            v = vmax * C / (km + C)
            dx[:, i_c] -= v
            dx[:, i_el] += (1.0 - fm_tot) * v
            for i_m, fm in mets:
                dx[:, i_m] += fm * v
        return dx.reshape(-1)

    x = np.zeros((N, n)) if x0 is None else np.array(x0, dtype=float)
    breaks = np.unique(np.concatenate([t, inp.bolus_time_h, inp.infusion_start_h, inp.infusion_end_h, [t0]]))
    breaks = breaks[breaks >= t0]
    out = np.empty((N, t.size, n))
    now = t0
    k = 0
    for b in breaks:
        if b > now:
            active = (inp.infusion_start_h <= now) & (inp.infusion_end_h > now)
            r = np.zeros((N, n))
            for j in np.nonzero(active)[0]:
                r[:, inp.infusion_state[j]] += inf_rate[:, j]
            sol = solve_ivp(rhs, (now, b), x.reshape(-1), method="LSODA", args=(r,), rtol=rtol, atol=atol)
            if not sol.success:
                raise PharmsimError(f"the ODE solver failed between {now} h and {b} h: {sol.message}")
            x = sol.y[:, -1].reshape(N, n)
            now = float(b)
        for j in np.nonzero(inp.bolus_time_h == b)[0]:
            x[:, inp.bolus_state[j]] += bolus_amount[:, j]
        while k < t.size and t[k] == b:
            out[:, k] = x
            k += 1
    return out


def state_table(model: PKModel) -> pd.DataFrame:
    """The model's states with their unit (for teaching: which row of A is which)."""
    return pd.DataFrame({"state": model.states,
                         "unit": ["nM" if s.endswith(".effect") else "nmol" for s in model.states]})


def parameter_table(model: PKModel) -> pd.DataFrame:
    """The model's parameters (value or per-subject array) with their source where known."""
    rows = []
    for k, v in model.parameters.items():
        rows.append({"parameter": k, "value": v.item() if np.ndim(v) == 0 else v,
                     "source": model.sources.get(k, "")})
    return pd.DataFrame(rows)



# --------------------------------------------------------------------------------------------- defaults
#: Compounds :func:`default_model` knows how to build from the library.
DEFAULT_COMPOUNDS = ("MG", "7-OH-MG", "morphine", "naloxone", "buprenorphine", "fentanyl")

#: Extravascular routes of the reference compounds for which human absorption data are in the library
#: (i.v. into the central compartment always exists). Naloxone i.m./intranasal: Dowling 2008; buprenorphine
#: sublingual: Bjornsson 2023 (ka fitted by tools/derive_reference_pk.py); fentanyl: i.v. only.
REFERENCE_ROUTES = MappingProxyType({"naloxone": ("im", "intranasal"), "buprenorphine": ("sublingual",),
                                     "fentanyl": ()})

# three-compartment disposition: model parameter suffix -> library quantity
_THREE_CMT = (("CL_L_per_h", "CL", "L/h"), ("V_L", "Vc", "L"), ("Q_L_per_h", "Q", "L/h"), ("Vp_L", "Vp", "L"),
              ("Q2_L_per_h", "Q2", "L/h"), ("Vp2_L", "Vp2", "L"))


def _lib_value(library, sources: dict, key: str, quantity: str, compound: str, target: str, unit: str):
    par = library.parameter(quantity, compound, target)
    sources[key] = f"{par.source} [{par.status}]"
    return float(library.value(quantity, compound, target, unit))


def _reference_routes(compounds, routes) -> dict:
    """Validated extravascular routes of the reference compounds in ``compounds``."""
    if routes is None:
        routes = {}
    if not isinstance(routes, Mapping):
        raise PharmsimError(f"routes must be a mapping compound -> route names (e.g. {{'naloxone': ('im',)}}); "
                            f"got {routes!r}")
    for c in routes:
        require_choice("routes (compound)", c, tuple(REFERENCE_ROUTES))
    out = {}
    for c in compounds:
        if c not in REFERENCE_ROUTES:
            continue
        chosen = routes.get(c, REFERENCE_ROUTES[c])
        chosen = (chosen,) if isinstance(chosen, str) else tuple(chosen)
        for r in chosen:
            if r not in REFERENCE_ROUTES[c]:
                raise PharmsimError(
                    f"routes of {c} must be among the sourced extravascular routes {list(REFERENCE_ROUTES[c])} "
                    f"('iv' always exists); got {r!r}{suggest(r, REFERENCE_ROUTES[c])}")
        out[c] = chosen
    return out


def default_model(compounds=("MG", "7-OH-MG"), *, forms=None, morphine_routes=("oral",), effect_sites=None,
                  library=None, routes=None) -> PKModel:
    """The documented default human PK model of ``compounds``, every number read from the library.

    Parameters
    ----------
    compounds : sequence of {'MG', '7-OH-MG', 'morphine', 'naloxone', 'buprenorphine', 'fentanyl'}
        With both MG and 7-OH-MG, 7-OH-MG is formed from MG (systemic fraction fm of MG clearance and
        presystemic fraction fpre of absorbed MG) and can also be dosed directly (products that contain it).
    forms : sequence of str, optional
        Kratom product forms to give absorption routes (default all of :data:`pharmsim.products.FORMS`).
    morphine_routes : sequence of str
        Extravascular routes of morphine (``'oral'``); i.v. always exists.
    effect_sites : sequence of str, optional
        Compounds with an effect site (default: all). ke0 = ln 2 / t1/2ke0; the effect site is fed by the
        unbound plasma concentration, ``dCe/dt = ke0 (fu C - Ce)``.
    library : pharmsim.library.Library, optional
    routes : mapping of str to sequence of str, optional
        Extravascular routes of the reference compounds naloxone, buprenorphine and fentanyl (default
        :data:`REFERENCE_ROUTES`, every route with sourced absorption data: naloxone ``'im'`` and
        ``'intranasal'``, buprenorphine ``'sublingual'``, fentanyl none). i.v. always exists.

    Notes
    -----
    Structure: MG two-compartment, 7-OH-MG one-compartment, apparent oral parameters (CL/F, V/F; F = 1
    for the reference form tea) fitted to Tanna 2022 by tools/derive_mg_pk.py; morphine two-compartment
    derived from Stuart-Harris 2000 by tools/derive_morphine_pk.py. See data/pk_derived.csv for each row's
    source, status and reason. Unbound fractions: ``fu`` rows.

    Reference compounds, three-compartment i.v. disposition (CL, Vc, Q, Vp, Q2, Vp2 rows of data/pk.csv):
    naloxone Dowling 2008, Ther Drug Monit 30:490, doi:10.1097/FTD.0b013e3181816214 (i.m. and intranasal
    ka and relative F from the same fit; t1/2ke0 6.5 min, Yassen 2007); buprenorphine Bjornsson 2023, Clin
    Pharmacokinet 62:1427, doi:10.1007/s40262-023-01288-6 (quoted, UNVERIFIED; t1/2ke0 173 min, Yassen
    2007, doi:10.2165/00003088-200746110-00004); fentanyl Scott & Stanski 1987, J Pharmacol Exp Ther 240:159,
    PMID 3100765, as implemented in stanpumpR (UNVERIFIED; t1/2ke0 6.4 min, UNVERIFIED). The ke0 values were
    estimated with other PK models than the dispositions used here. Teaching and research only, not dosing
    advice.
    """
    from .products import FORMS

    if library is None:
        from .library import load_library

        library = load_library()
    compounds = tuple(compounds)
    for c in compounds:
        require_choice("compounds", c, DEFAULT_COMPOUNDS)
    forms = FORMS if forms is None else tuple(forms)
    for f in forms:
        require_choice("forms", f, FORMS)
    ref_routes = _reference_routes(compounds, routes)
    effect_sites = compounds if effect_sites is None else tuple(effect_sites)
    p, src = {}, {}
    comps, convs = [], []
    ln2 = float(np.log(2.0))

    def get(key, quantity, compound, target, unit):
        p[key] = _lib_value(library, src, key, quantity, compound, target, unit)

    for cid in compounds:
        mw = float(library.compound(cid).molar_mass_g_per_mol)
        eff = cid in effect_sites
        if cid == "MG":
            comps.append(CompoundPK("MG", mw, 2, tuple(Route(f) for f in forms), effect_site=eff))
            get("MG.CL_L_per_h", "CL", "MG", "PK", "L/h")
            get("MG.V_L", "Vc", "MG", "PK", "L")
            get("MG.Q_L_per_h", "Q", "MG", "PK", "L/h")
            get("MG.Vp_L", "Vp", "MG", "PK", "L")
        elif cid == "7-OH-MG":
            comps.append(CompoundPK("7-OH-MG", mw, 1, tuple(Route(f) for f in forms), effect_site=eff))
            get("7-OH-MG.CL_L_per_h", "CL", "7-OH-MG", "PK", "L/h")
            get("7-OH-MG.V_L", "V", "7-OH-MG", "PK", "L")
        elif cid == "morphine":
            comps.append(CompoundPK("morphine", mw, 2, tuple(Route(r) for r in morphine_routes), effect_site=eff))
            get("morphine.CL_L_per_h", "CL", "morphine", "PK", "L/h")
            get("morphine.V_L", "Vc", "morphine", "PK", "L")
            get("morphine.Q_L_per_h", "Q", "morphine", "PK", "L/h")
            get("morphine.Vp_L", "Vp", "morphine", "PK", "L")
            for r in morphine_routes:
                get(f"morphine.{r}.ka_per_h", "ka", "morphine", "PK", "1/h")
                get(f"morphine.{r}.F", "F", "morphine", "PK", "fraction")
                get(f"morphine.{r}.tlag_h", "tlag", "morphine", "PK", "h")
        else:  # reference compounds: three-compartment i.v. disposition, route rows under target = route
            comps.append(CompoundPK(cid, mw, 3, tuple(Route(r) for r in ref_routes[cid]), effect_site=eff))
            for suffix, quantity, unit in _THREE_CMT:
                get(f"{cid}.{suffix}", quantity, cid, "PK", unit)
            for r in ref_routes[cid]:
                get(f"{cid}.{r}.ka_per_h", "ka", cid, r, "1/h")
                get(f"{cid}.{r}.F", "F", cid, r, "fraction")
                get(f"{cid}.{r}.tlag_h", "tlag", cid, r, "h")
        get(f"{cid}.fu", "fu", cid, "PK", "fraction")
        if eff:
            get(f"{cid}.ke0_per_h", "t_half_ke0", cid, "PK", "h")
            p[f"{cid}.ke0_per_h"] = ln2 / p[f"{cid}.ke0_per_h"]
        if cid in ("MG", "7-OH-MG"):
            for f in forms:
                get(f"{cid}.{f}.ka_per_h", "ka", cid, f, "1/h")
                get(f"{cid}.{f}.tlag_h", "tlag", cid, f, "h")
                get(f"{cid}.{f}.F", "F", cid, f, "fraction")
    if "MG" in compounds and "7-OH-MG" in compounds:
        convs.append(Conversion("MG", "7-OH-MG", presystemic=True))
        get("7-OH-MG.fm", "fm", "7-OH-MG", "PK", "fraction")
        for f in forms:
            get(f"MG.{f}.fpre_7-OH-MG", "fpre", "7-OH-MG", f, "fraction")
    return PKModel(tuple(comps), tuple(convs), p, src)
