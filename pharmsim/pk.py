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

from .validate import (
    PharmsimError,
    require_count,
    require_finite,
    require_fraction,
    require_instance,
    require_nonnegative,
    require_number,
    suggest,
)

__all__ = [
    "IV",
    "KINDS",
    "ParamInfo",
    "Route",
    "CompoundPK",
    "Conversion",
    "Enzyme",
    "ENZYME_SITES",
    "PKModel",
    "combine",
    "state_table",
    "parameter_table",
]

IV = "iv"
#: Most transit compartments a route may have: a bound on the size of the state vector (each is one state),
#: not a physiological statement (published transit models use a few to a few tens).
_MAX_TRANSIT = 100

#: Kinds of PK parameter: what a population does with them (log-normal or logit variability, allometry) and
#: which values are allowed.
KINDS = ("clearance", "volume", "fraction", "bioavailability", "rate", "time", "concentration", "amount_rate",
         "dose_rate")

#: Compartment names a dose may enter directly (NONMEM's CMT): no route F or lag applies to them, but a dose's own
#: ``F`` and ``lag_h`` do. Route names may not take these names.
DOSABLE_COMPARTMENTS = ("central", "peripheral", "peripheral2")


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
        The route of route parameters (``ka``, ``F``, ``tlag``, ``mtt``, ``fpre``, ``R``, ``D``; ``'iv'`` for the
        dosing parameters of the central compartment).
    parent : str or None
        The parent compound of formation parameters (``fm``, ``fpre``, ``Vmax_form``, ``Km_form``).
    default : float or None
        Optional parameters (the dosing parameters of :meth:`CompoundPK.dosing_parameter_info`) take this value
        when a model does not give them; ``None``: required.
    """

    name: str
    compound: str
    role: str
    kind: str
    unit: str
    route: str | None = None
    parent: str | None = None
    default: float | None = None


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
        if not isinstance(self.name, str) or not self.name or "." in self.name or self.name == IV \
                or self.name in DOSABLE_COMPARTMENTS + ("effect", "eliminated"):
            raise PharmsimError(f"Route.name must be a non-empty name without '.', not 'iv' nor a compartment name "
                                f"{DOSABLE_COMPARTMENTS + ('effect', 'eliminated')}; got {self.name!r}")
        object.__setattr__(self, "n_transit", require_count("Route.n_transit", self.n_transit, minimum=0,
                                                            maximum=_MAX_TRANSIT))


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
        require_number("molar_mass_g_per_mol", self.molar_mass_g_per_mol, "g/mol", minimum=0, strict=True)
        object.__setattr__(self, "n_compartments", require_count(f"n_compartments of {self.compound}",
                                                                 self.n_compartments, minimum=1, maximum=3))
        routes = tuple(Route(r) if isinstance(r, str) else r for r in
                       (self.routes if isinstance(self.routes, (tuple, list)) else (self.routes,)))
        for r in routes:
            require_instance(f"routes of {self.compound}", r, Route, "pharmsim Route objects or route names")
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

    def dosing_parameter_info(self) -> tuple[ParamInfo, ...]:
        """The optional dosing parameters of every route, ``'iv'`` included (NONMEM's F1, ALAG1, R1, D1 of a
        dosing compartment): each has a default and need not be given.

        ``"<c>.iv.F"`` (default 1, relative values above 1 allowed) and ``"<c>.iv.tlag_h"`` (default 0 h) for
        doses into the central compartment; ``"<c>.<route>.R_nmol_per_h"`` (modelled infusion rate, used by
        events with ``RATE = -1``) and ``"<c>.<route>.D_h"`` (modelled duration, ``RATE = -2``), default 0 =
        not set, for ``'iv'`` and every extravascular route.
        """
        c = self.compound
        info = [ParamInfo(f"{c}.{IV}.F", c, "F", "bioavailability", "fraction", route=IV, default=1.0),
                ParamInfo(f"{c}.{IV}.tlag_h", c, "tlag", "time", "h", route=IV, default=0.0)]
        for r in (IV,) + tuple(x.name for x in self.routes):
            info += [ParamInfo(f"{c}.{r}.R_nmol_per_h", c, "R", "dose_rate", "nmol/h", route=r, default=0.0),
                     ParamInfo(f"{c}.{r}.D_h", c, "D", "time", "h", route=r, default=0.0)]
        return tuple(info)


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


#: The sites of an :class:`Enzyme` pool: the gut wall (first pass of oral doses) and the liver.
ENZYME_SITES = ("gut", "liver")


@dataclass(frozen=True)
class Enzyme:
    """A drug-metabolising enzyme (e.g. ``'CYP3A4'``) in the gut wall and the liver, inactivated by
    mechanism-based (time-dependent) inhibitors and clearing substrates whose first pass and clearance follow
    its active amount.

    States (fractions, not amounts): ``"<enzyme>.gut.inactive"`` and ``"<enzyme>.liver.inactive"``, the
    inactivated fraction L = 1 - E of each site's pool (0 at baseline). Parameters:

    =======================================  ======  ==========================================================
    ``"<enzyme>.<site>.kdeg_per_h"``         1/h     turnover (degradation = resynthesis) rate constant
    ``"<enzyme>.gut.Qent_L_per_h"``          L/h     enterocyte blood flow (the "Qgut" of the gut inhibitor)
    ``"<i>.<enzyme>.<site>.KI_nM"``          nM      inhibitor concentration of half-maximal inactivation
    ``"<i>.<enzyme>.<site>.kinact_per_h"``   1/h     maximal inactivation rate constant
    ``"<s>.<enzyme>.fm"``                    1       fraction of the substrate's hepatic intrinsic clearance
                                                     by the enzyme
    ``"<s>.<enzyme>.EH"``                    1       baseline hepatic extraction ratio of the substrate
    ``"<s>.<route>.<enzyme>.Fg"``            1       baseline fraction escaping gut-wall metabolism
    =======================================  ======  ==========================================================

    Equations (Mayhew, Jones & Hall 2000, Drug Metab Dispos 28:1031, for the enzyme balance; the gut
    inhibitor concentration of the "Qgut" model, Yang et al. 2007, Curr Drug Metab 8:676;
    the well-stirred liver)::

        I_gut   = sum_routes ka A_depot,i / Qent                 (nM: inhibitor entering the enterocytes)
        I_liver = fu_i A_central,i / V_i                         (nM: unbound systemic inhibitor)
        dL/dt   = sum_i kinact_i I/(KI_i + I) (1 - L) - kdeg L   (each site; E = 1 - L active)
        Fg(E)   = 1 / (1 + E (1/Fg0 - 1))                         (gut availability of the substrate)
        x(E)    = EH0/(1 - EH0) (1 - fm + fm E);  EH(E) = x/(1 + x);  Fh = 1 - EH
        CL(t)   = CL0 EH(E) / EH0                                (substrate's clearance, all hepatic)

    At a constant inhibitor concentration E settles at ``kdeg / (kdeg + kinact I/(KI + I))``. A substrate's
    oral dose enters its depot with the route's F taken as the fraction absorbed (Fa); the depot empties at
    ka, ``Fg Fh`` of it into the central compartment and the rest to ``eliminated`` (first pass), so that
    at baseline F_oral = Fa Fg0 (1 - EH0). Its CL is the baseline (E = 1) plasma clearance CL0.

    The substrates' own clearance and first pass are the only things the active enzyme changes: the
    inhibitor's PK is not changed by its own inactivation of the enzyme (its parameters are apparent ones
    from single doses), and metabolites formed by the enzyme keep their fm. Solved by ODE.
    """

    name: str
    inhibitors: tuple[str, ...] = ()
    substrates: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or "." in self.name:
            raise PharmsimError(f"Enzyme.name must be a non-empty name without '.'; got {self.name!r}")
        for what in ("inhibitors", "substrates"):
            v = tuple(getattr(self, what))
            if any(not isinstance(c, str) or not c for c in v) or len(set(v)) != len(v):
                raise PharmsimError(f"Enzyme.{what} of {self.name} must be distinct compound ids; got {v!r}")
            object.__setattr__(self, what, v)
        both = set(self.inhibitors) & set(self.substrates)
        if both:
            raise PharmsimError(f"{sorted(both)[0]!r} is both an inhibitor and a substrate of {self.name}; pharmsim "
                                "does not model auto-inhibition")

    def state_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{site}.inactive" for site in ENZYME_SITES)

    def parameter_info(self, compounds: Mapping[str, CompoundPK]) -> tuple[ParamInfo, ...]:
        e = self.name
        info = [ParamInfo(f"{e}.{site}.kdeg_per_h", e, "kdeg", "rate", "1/h") for site in ENZYME_SITES]
        info.append(ParamInfo(f"{e}.gut.Qent_L_per_h", e, "Qent", "clearance", "L/h"))
        for i in self.inhibitors:
            for site in ENZYME_SITES:
                info += [ParamInfo(f"{i}.{e}.{site}.KI_nM", i, "KI", "concentration", "nM"),
                         ParamInfo(f"{i}.{e}.{site}.kinact_per_h", i, "kinact", "rate", "1/h")]
        for s in self.substrates:
            info += [ParamInfo(f"{s}.{e}.fm", s, "fm_enzyme", "fraction", "fraction"),
                     ParamInfo(f"{s}.{e}.EH", s, "EH", "fraction", "fraction")]
            info += [ParamInfo(f"{s}.{r.name}.{e}.Fg", s, "Fg", "fraction", "fraction", route=r.name)
                     for r in compounds[s].routes]
        return tuple(info)


def _check_param(info: ParamInfo, value) -> np.ndarray:
    """Validate one parameter by its kind (metadata, not its name)."""
    name, kind = info.name, info.kind
    if kind == "fraction":
        arr = require_fraction(name, value)
    elif kind in ("clearance", "amount_rate", "rate", "time", "bioavailability", "dose_rate"):
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
    enzymes: tuple[Enzyme, ...] = ()

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
        object.__setattr__(self, "enzymes", tuple(self.enzymes))
        names = [e.name for e in self.enzymes]
        if len(set(names)) != len(names):
            raise PharmsimError(f"enzymes in a PKModel must be unique; got {names}")
        victims = set()
        for enz in self.enzymes:
            if not isinstance(enz, Enzyme):
                raise PharmsimError(f"PKModel.enzymes must hold pharmsim.pk.Enzyme objects; got {enz!r}")
            for c in enz.inhibitors + enz.substrates:
                if c not in ids:
                    raise PharmsimError(f"{enz.name} names {c!r}, which is not a compound of the model ({ids})"
                                        f"{suggest(c, ids)}")
            for c in enz.substrates:
                if c in victims:
                    raise PharmsimError(f"{c} is a substrate of more than one Enzyme; pharmsim models one each")
                victims.add(c)
                if any(cv.parent == c for cv in self.conversions):
                    raise PharmsimError(f"{c} is an enzyme substrate and the parent of a metabolite; pharmsim does "
                                        "not model both for one compound")
        given = dict(self.parameters)
        optional = self._optional_info()
        info = {**self._structure_info(), **{k: v for k, v in optional.items() if k in given}}
        unknown = [p for p in given if p not in info]
        if unknown:
            known = list(info) + list(optional)
            raise PharmsimError(
                f"unknown PK parameter(s) {unknown}{suggest(unknown[0], known)}; known: {known}")
        missing = [p for p in info if p not in given]
        if missing:
            raise PharmsimError(f"PKModel is missing parameter(s) {missing}")
        params = {k: _check_param(info[k], given[k]) for k in info}
        object.__setattr__(self, "parameters", MappingProxyType(params))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        for enz in self.enzymes:
            for k, i in info.items():
                if i.role == "Fg" and k.endswith(f".{enz.name}.Fg") and np.any(params[k] <= 0):
                    raise PharmsimError(f"{k} (the fraction of a dose escaping gut-wall metabolism) must be > 0; "
                                        f"got {params[k].min()!r}")
                if i.role == "EH" and np.any(params[k] >= 1):
                    raise PharmsimError(f"{k} (a hepatic extraction ratio) must be < 1; got {params[k].max()!r}")
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
        """``{name: ParamInfo}`` of every parameter, in model order (made once, with the names). The optional
        dosing parameters (:meth:`CompoundPK.dosing_parameter_info`) are parameters of the model once given
        (:meth:`with_parameters`); until then they keep their defaults (:meth:`route_F_lag`)."""
        out = dict(self._structure_info())
        out.update({k: v for k, v in self._optional_info().items() if k in self.parameters})
        return MappingProxyType(out)

    def _optional_info(self) -> dict[str, ParamInfo]:
        return {p.name: p for c in self.compounds for p in c.dosing_parameter_info()}

    def _structure_info(self) -> dict[str, ParamInfo]:
        out = {}
        by_id = {c.compound: c for c in self.compounds}
        for c in self.compounds:
            for p in c.parameter_info():
                out[p.name] = p
        for cv in self.conversions:
            for p in cv.parameter_info(by_id[cv.parent]):
                out[p.name] = p
        for enz in self.enzymes:
            for p in enz.parameter_info(by_id):
                out[p.name] = p
        return out

    @property
    def states(self) -> tuple[str, ...]:
        """State names, ``'<compound>.<state>'``; amounts in nmol, effect sites in nM."""
        return tuple(s for c in self.compounds for s in c.state_names()) + tuple(
            s for e in self.enzymes for s in e.state_names())

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
            cv.kinetics == "linear" for cv in self.conversions) and not any(e.inhibitors for e in self.enzymes)

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
        return PKModel(self.compounds, self.conversions, new, src, self.enzymes)

    def subset(self, idx) -> PKModel:
        """The model for the subjects ``idx`` (a slice or index array) when parameters are per subject."""
        if self.n_subjects == 1:
            return self
        p = {k: (v[idx] if np.ndim(v) == 1 else v) for k, v in self.parameters.items()}
        return PKModel(self.compounds, self.conversions, p, self.sources, self.enzymes)

    def routes_of(self, compound: str) -> tuple[str, ...]:
        """``'iv'`` and the extravascular routes of ``compound``."""
        return (IV,) + tuple(r.name for r in self.compound(compound).routes)

    def dose_targets(self, compound: str) -> tuple[str, ...]:
        """Where a dose of ``compound`` may go: ``'iv'`` (central), its extravascular routes (their first
        state, with the route's F and lag), and compartments by name (``'central'`` is ``'iv'``; ``'peripheral'``,
        ``'peripheral2'``, ``'<route>.depot'``, ``'<route>.transit<k>'``: no route F or lag)."""
        c = self.compound(compound)
        out = [IV] + [r.name for r in c.routes] + [s.split(".", 1)[1] for s in c.state_names()
                                                    if not s.endswith((".effect", ".eliminated"))]
        return tuple(dict.fromkeys(out))

    def route_state(self, compound: str, route: str) -> int:
        """Index of the state a dose by ``route`` enters (``'iv'`` -> central; a compartment name -> that
        compartment, see :meth:`dose_targets`)."""
        c = self.compound(compound)
        if route in (IV, "central"):
            return self.index(f"{compound}.central")
        for r in c.routes:
            if r.name == route:
                first = f"{compound}.{route}.transit1" if r.n_transit else f"{compound}.{route}.depot"
                return self.index(first)
        if isinstance(route, str) and route in self.dose_targets(compound):
            return self.index(f"{compound}.{route}")
        names = self.dose_targets(compound)
        raise PharmsimError(f"unknown route {route!r} for {compound}{suggest(str(route), names)}; doses of {compound} "
                            f"may go to (routes and compartments): {list(names)}")

    def _dose_route(self, compound: str, route: str) -> str | None:
        """The route whose dosing parameters apply to a dose into ``route`` (None: a bare compartment)."""
        self.route_state(compound, route)
        if route in (IV, "central"):
            return IV
        return route if route in [r.name for r in self.compound(compound).routes] else None

    def route_F_lag(self, compound: str, route: str) -> tuple[np.ndarray, np.ndarray]:
        """Bioavailability and lag time (h) of a dose by ``route`` (``'iv'``: the parameters ``<c>.iv.F`` and
        ``<c>.iv.tlag_h``, default 1 and 0; a bare compartment: 1 and 0)."""
        r = self._dose_route(compound, route)
        if r is None:
            return np.asarray(1.0), np.asarray(0.0)
        p = self.parameters
        return (np.asarray(p.get(f"{compound}.{r}.F", 1.0)), np.asarray(p.get(f"{compound}.{r}.tlag_h", 0.0)))

    def route_rate_duration(self, compound: str, route: str) -> tuple[np.ndarray, np.ndarray]:
        """Modelled infusion rate (nmol/h) and duration (h) of a dose by ``route`` (``RATE = -1`` / ``-2``
        events; 0 = not set; a bare compartment has none)."""
        r = self._dose_route(compound, route)
        if r is None:
            return np.asarray(0.0), np.asarray(0.0)
        p = self.parameters
        return (np.asarray(p.get(f"{compound}.{r}.R_nmol_per_h", 0.0)), np.asarray(p.get(f"{compound}.{r}.D_h", 0.0)))

    def mass_states(self) -> np.ndarray:
        """Indices of the amount states (all but effect sites and enzyme fractions): their sum is the bioavailable
        amount dosed."""
        return np.array([i for i, s in enumerate(self.states) if not s.endswith((".effect", ".inactive"))],
                        dtype=int)

    def terminal_half_life_h(self, compound: str) -> np.ndarray:
        """Terminal (slowest) disposition half-life of ``compound`` in h, ``ln 2 / lambda_min`` with lambda_min
        the smallest eigenvalue of minus its central/peripheral block of :meth:`matrix` (absorption and
        metabolites excluded); one value per subject (N,), or a scalar. Linear disposition only."""
        c = self.compound(compound)
        if c.saturable:
            raise PharmsimError(f"{compound} has saturable elimination: its half-life depends on concentration")
        idx = [self.index(f"{compound}.{s}") for s in ("central", "peripheral", "peripheral2")[:c.n_compartments]]
        A = self.matrix()
        block = A[..., idx, :][..., :, idx]
        lam = np.linalg.eigvals(-block).real
        return np.log(2.0) / lam.min(axis=-1)

    def enzyme_states(self) -> dict[str, int]:
        """``{'<enzyme>.<site>': index}`` of the inactivated-fraction states."""
        return {s.removesuffix(".inactive"): self.index(s) for e in self.enzymes for s in e.state_names()}

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
        victims = {s for e in self.enzymes if e.inhibitors for s in e.substrates}  # nonlinear_rhs
        # substrates of an enzyme no inhibitor of the model inactivates: baseline first pass, linear
        first_pass = {s: e.name for e in self.enzymes if not e.inhibitors for s in e.substrates}

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
                if cid in first_pass:  # F_first = Fg0 (1 - EH0), the rest lost on first pass
                    en = first_pass[cid]
                    F_first = p[f"{base}.{en}.Fg"] * (1.0 - p[f"{cid}.{en}.EH"])
                    flow(f"{base}.depot", central, ka * F_first)
                    flow(f"{base}.depot", f"{cid}.eliminated", ka * (1.0 - F_first))
                elif cid not in victims:  # an inactivated enzyme's substrate: nonlinear_rhs
                    flow(f"{base}.depot", central, ka * (1.0 - fpre_total))
            k10 = p[f"{cid}.CL_L_per_h"] / V * (cid not in victims)
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

    def nonlinear_rhs(self):
        """The nonlinear part of ``dx/dt = A x + f(x)`` as a function ``f(x) -> dx`` of the (N, n) states of N
        subjects (the saturable terms of :meth:`nonlinear_terms` and the :class:`Enzyme` balances and
        substrate flows), or None for a linear model. Parameters are read once, here."""
        if self.is_linear:
            return None
        N = self.n_subjects
        p = {k: np.broadcast_to(v, (N,)) for k, v in self.parameters.items()}
        sat = [(src, dst, p[vmax], p[km], p[v]) for src, dst, vmax, km, v in self.nonlinear_terms()]
        enz = []
        for e in (e for e in self.enzymes if e.inhibitors):
            n = e.name
            gut_in = [(self.index(f"{i}.{r.name}.depot"), p[f"{i}.{r.name}.ka_per_h"])
                      for i in e.inhibitors for r in self.compound(i).routes]
            liver_in = [(self.index(f"{i}.central"), p[f"{i}.fu"] / p[f"{i}.V_L"]) for i in e.inhibitors]
            inact = {site: [(p[f"{i}.{n}.{site}.KI_nM"], p[f"{i}.{n}.{site}.kinact_per_h"]) for i in e.inhibitors]
                     for site in ENZYME_SITES}
            subs = []
            for sub in e.substrates:
                c = self.compound(sub)
                EH0 = p[f"{sub}.{n}.EH"]
                routes = [(self.index(f"{sub}.{r.name}.depot"), p[f"{sub}.{r.name}.ka_per_h"],
                           1.0 / p[f"{sub}.{r.name}.{n}.Fg"] - 1.0) for r in c.routes]
                subs.append((self.index(f"{sub}.central"), self.index(f"{sub}.eliminated"), routes,
                             p[f"{sub}.CL_L_per_h"] / p[f"{sub}.V_L"], EH0, EH0 / (1.0 - EH0), p[f"{sub}.{n}.fm"]))
            enz.append((self.index(f"{n}.gut.inactive"), self.index(f"{n}.liver.inactive"), gut_in, liver_in,
                        inact, p[f"{n}.gut.kdeg_per_h"], p[f"{n}.liver.kdeg_per_h"], p[f"{n}.gut.Qent_L_per_h"],
                        subs))

        def f(x):
            dx = np.zeros_like(x)
            for src, dst, vmax, km, V in sat:
                C = np.maximum(x[:, src], 0.0) / V
                v = vmax * C / (km + C)
                dx[:, src] -= v
                dx[:, dst] += v
            for ig, il, gut_in, liver_in, inact, kdeg_g, kdeg_l, qent, subs in enz:
                I_g = sum((ka * np.maximum(x[:, d], 0.0) for d, ka in gut_in), np.zeros(N)) / qent
                I_l = sum((k * np.maximum(x[:, c], 0.0) for c, k in liver_in), np.zeros(N))
                L_g, L_l = x[:, ig], x[:, il]
                dx[:, ig] = sum((kin * I_g / (KI + I_g) for KI, kin in inact["gut"]), np.zeros(N)) * (1.0 - L_g) \
                    - kdeg_g * L_g
                dx[:, il] = sum((kin * I_l / (KI + I_l) for KI, kin in inact["liver"]), np.zeros(N)) * (1.0 - L_l) \
                    - kdeg_l * L_l
                E_g, E_l = 1.0 - L_g, 1.0 - L_l
                for central, elim, routes, k10, EH0, x0, fm in subs:
                    xh = x0 * (1.0 - fm + fm * E_l)
                    EH = xh / (1.0 + xh)
                    for depot, ka, g in routes:
                        out = ka * x[:, depot]
                        F_first = (1.0 - EH) / (1.0 + E_g * g)
                        dx[:, depot] -= out
                        dx[:, central] += F_first * out
                        dx[:, elim] += (1.0 - F_first) * out
                    v = k10 * np.divide(EH, EH0, out=np.ones_like(EH), where=EH0 > 0) * x[:, central]
                    dx[:, central] -= v
                    dx[:, elim] += v
            return dx

        return f


def combine(*models: PKModel) -> PKModel:
    """One block-diagonal model from several (e.g. kratom + morphine + naloxone); conversions and
    parameters are merged, compound ids must be distinct."""
    comps, convs, params, src, enz = [], [], {}, {}, {}
    for i, m in enumerate(models):
        require_instance(f"models[{i}]", m, PKModel, "a pharmsim PKModel")
        comps += list(m.compounds)
        convs += list(m.conversions)
        params.update(m.parameters)
        src.update(m.sources)
        for e in m.enzymes:
            old = enz.get(e.name, Enzyme(e.name))
            enz[e.name] = Enzyme(e.name, tuple(dict.fromkeys(old.inhibitors + e.inhibitors)),
                                 tuple(dict.fromkeys(old.substrates + e.substrates)))
    return PKModel(tuple(comps), tuple(convs), params, src, tuple(enz.values()))


def state_table(model: PKModel) -> pd.DataFrame:
    """The model's states with their unit (for teaching: which row of A is which)."""
    require_instance("model", model, PKModel, "a pharmsim PKModel")
    return pd.DataFrame({"state": model.states,
                         "unit": ["nM" if s.endswith(".effect") else "nmol" for s in model.states]})


def parameter_table(model: PKModel) -> pd.DataFrame:
    """The model's parameters (typical value: the median of per-subject values) with metadata and source."""
    require_instance("model", model, PKModel, "a pharmsim PKModel")
    rows = []
    for k, v in model.parameters.items():
        i = model.parameter_info[k]
        rows.append({"parameter": k, "compound": i.compound, "route": i.route or "-", "role": i.role,
                     "kind": i.kind, "value": float(np.median(v)), "unit": i.unit,
                     "source": model.sources.get(k, "")})
    return pd.DataFrame(rows, columns=["parameter", "compound", "route", "role", "kind", "value", "unit", "source"])
