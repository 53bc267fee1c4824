"""What the data say: the one room that reads the parameter library and turns rows into model parts.

:class:`Catalog` wraps a :class:`pharmsim.library.Library` and builds, from its rows alone,

* **PK structures** (:meth:`Catalog.compound_pk`, :meth:`Catalog.pk_model`): the number of compartments
  (``n_compartments`` rows, ``data/structure.csv``), the extravascular routes (every target at which the
  compound has a ``ka`` row), the effect site (a ``t_half_ke0`` row), and parent -> metabolite relations
  (``formed_from`` / ``presystemic_formation`` rows: compound = metabolite, target = parent, pathway = the
  forming enzyme). Adding a compound is adding rows; no code names a compound.
* **Ligands** (:meth:`Catalog.ligand`): the affinity, efficacy, binding kinetics and arrestin efficacy of a
  compound at a receptor, each with its source, the binding Ki kept beside the operational K_A.
* **Endpoints** (:meth:`Catalog.endpoint`): gain, Em and slope; the receptor an endpoint reads
  (``read_at`` rows).
* **Covariate effects** (:meth:`Catalog.covariate_effects`) and **product contents**
  (:meth:`Catalog.product_contents_percent`, ``product_form`` and ``content`` rows).

:func:`catalog` is the one ``library=None`` default of the package: every other module takes a catalog or a
library from its caller.

How a ligand's numbers are chosen (Black & Leff 1983, doi:10.1098/rspb.1983.0093)::

    efficacy   tau row (pathway 'G protein') at the receptor; 0 = competitive antagonist; without a tau row, from
               an in-vivo ceiling (an Emax row of the compound at an endpoint): efficacy = (e/(1 - e))/gain
    K          affinity='functional' (default): the in-vivo K_A anchored to a human C50 (a C50 row at an endpoint:
               K = C50_u (1 + efficacy x gain)) > the in-vitro K_A = EC50 (1 + tau) with the EC50 of the tau's
               source > an in-vivo KD > the functional K_B > the binding Ki; 'in vitro': no in-vivo anchors;
               'binding': the binding Ki. Every kind is kept in Ligand.affinities and shown side by side.
    basis      every affinity is used on the model's basis, unbound concentration: rows published on the
               total-plasma basis (the library's ``basis`` column) are multiplied by fu; kon is divided by fu
    sources    a source chosen for K or tau that reports both an EC50 and a tau is used for both
    kinetics   published koff (and kon) rows; else the receptor's koff_fast_default with kon = koff/K
    arrestin   internalisation_efficacy row (pathway 'beta-arrestin'); 0 for an antagonist

How the in-vitro numbers meet the in-vivo ones: one mechanism, the endpoint gain g (receptor reserve and
amplification of a clinical endpoint relative to the reference assay, tau_E = efficacy x g), calibrated on one
in-vivo anchor per endpoint (data/endpoints.csv) and shown beside every in-vitro number in the tables; in-vitro
G-protein assays are taken to share one efficacy scale (no per-assay amplification factor is known - an
assumption the in-vivo anchors of fentanyl and buprenorphine absorb).

What each compound can and cannot do (dose, curve, comparison) is :meth:`Catalog.capabilities`; the errors of
:meth:`Catalog.require` say the same.

Not for: solving, populations or plotting; the numbers themselves live in ``data/*.csv``. Teaching and
research only, not dosing advice.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .library import Library, Parameter, load_library
from .pk import IV, CompoundPK, Conversion, Enzyme, ParamInfo, PKModel, Route
from .receptor import Endpoint, K_A_from_ec50, Ligand, tau_from_emax
from .tolerance import MECHANISMS, ToleranceParams
from .validate import PharmsimError, require_choice, require_names, require_number, suggest

__all__ = ["AFFINITY_CHOICES", "AFFINITY_KINDS", "CAPABILITIES", "Catalog", "CovariateEffects", "catalog",
           "source_text"]

_LN2 = float(np.log(2.0))
#: Targets that are not routes even when a compound has rows there.
_NOT_ROUTES = ("PK",)

#: The kinds of equilibrium constant a Ligand can carry (``Ligand.K_kind``, ``Ligand.affinities``).
IN_VIVO_K_A = "in-vivo K_A (human C50 anchor)"
FUNCTIONAL_K_A = "functional K_A (in vitro)"
IN_VIVO_KD = "in-vivo KD"
FUNCTIONAL_K_B = "functional K_B"
BINDING_KI = "binding Ki"
BINDING_KD = "binding Kd"
AFFINITY_KINDS = (IN_VIVO_K_A, FUNCTIONAL_K_A, IN_VIVO_KD, FUNCTIONAL_K_B, BINDING_KI, BINDING_KD)
#: The ``affinity=`` choices of :meth:`Catalog.ligand` and :func:`pharmsim.model.build_model`.
AFFINITY_CHOICES = ("functional", "in vitro", "binding")
_AFFINITY_ORDER = {
    "functional": (IN_VIVO_K_A, FUNCTIONAL_K_A, IN_VIVO_KD, FUNCTIONAL_K_B, BINDING_KI, BINDING_KD),
    "in vitro": (FUNCTIONAL_K_A, FUNCTIONAL_K_B, BINDING_KI, BINDING_KD, IN_VIVO_KD),
    "binding": (BINDING_KI, BINDING_KD, IN_VIVO_KD, FUNCTIONAL_K_B, FUNCTIONAL_K_A, IN_VIVO_K_A),
}
_AGONIST_ONLY = (IN_VIVO_K_A, FUNCTIONAL_K_A)
_SHORT_KIND = {IN_VIVO_K_A: "in-vivo K_A", FUNCTIONAL_K_A: "K_A in vitro", IN_VIVO_KD: "in-vivo KD",
               FUNCTIONAL_K_B: "K_B", BINDING_KI: "Ki", BINDING_KD: "Kd"}


def _short(source: str) -> str:
    """'Kruegel 2016 J Am Chem Soc' -> 'Kruegel 2016' (figure legends)."""
    words = str(source).split()
    for i, w in enumerate(words):
        if w.isdigit() and len(w) == 4:
            return " ".join(words[: i + 1])
    return str(source)
#: What :meth:`Catalog.capabilities` reports per compound and :meth:`Catalog.require` checks.
CAPABILITIES = ("dose", "curve", "comparison")


def source_text(p: Parameter) -> str:
    """``'Kruegel 2016 J Am Chem Soc (human, BRET ...; 10.1021/...; check)'``: a row's provenance in one line."""
    return f"{p.source} ({p.species}, {p.assay}; {p.doi}; {p.status})"


@dataclass(frozen=True)
class CovariateEffects:
    """The numbers of the covariate model, each with its source (built by :meth:`Catalog.covariate_effects`).

    Attributes
    ----------
    cl_exponent, v_exponent : float
        Allometric exponents of clearances and volumes (1).
    fm_cyp3a4 : mapping compound -> fraction
        Fraction of each compound's (apparent) clearance carried by CYP3A4.
    cyp3a4_formed : tuple of (parent, metabolite)
        Metabolites formed by CYP3A4 (their fm and fpre fall with inhibition).
    inhibited_fraction : mapping level -> fraction
        Fraction I of CYP3A4 activity removed by each inhibitor level (``'none'`` -> 0).
    hepatic_cl_ratio : mapping level -> ratio
        Hepatic clearance multiplier of each impairment level (``'none'`` -> 1).
    hepatic_fraction : mapping compound -> fraction
        Fraction of each compound's clearance that is hepatic (hepatic impairment scales only that part).
    sources : mapping
        ``{name: 'source [status]'}`` for every number.
    """

    cl_exponent: float = 0.75
    v_exponent: float = 1.0
    fm_cyp3a4: Mapping[str, float] = None
    cyp3a4_formed: tuple[tuple[str, str], ...] = ()
    inhibited_fraction: Mapping[str, float] = None
    hepatic_cl_ratio: Mapping[str, float] = None
    hepatic_fraction: Mapping[str, float] = None
    sources: Mapping[str, str] = None

    def __post_init__(self):
        from types import MappingProxyType


        s = object.__setattr__
        for name in ("cl_exponent", "v_exponent"):
            s(self, name, require_number(name, getattr(self, name)))

        def fractions(name, d, fixed=None):
            out = {} if fixed is None else dict(fixed)
            for k, v in dict(d or {}).items():
                f = require_number(f"{name}[{k!r}]", v)
                if not 0.0 <= f <= 1.0:
                    raise PharmsimError(f"{name}[{k!r}] must be a fraction in [0, 1]; got {v!r}")
                out[str(k)] = f
            return out

        fm = fractions("fm_cyp3a4", self.fm_cyp3a4)
        inh = fractions("inhibited_fraction", self.inhibited_fraction, {"none": 0.0})
        if inh["none"] != 0.0:
            raise PharmsimError(f"inhibited_fraction['none'] must be 0; got {inh['none']}")
        hep = fractions("hepatic_cl_ratio", self.hepatic_cl_ratio, {"none": 1.0})
        if hep["none"] != 1.0:
            raise PharmsimError(f"hepatic_cl_ratio['none'] must be 1; got {hep['none']}")
        s(self, "fm_cyp3a4", MappingProxyType(fm))
        s(self, "inhibited_fraction", MappingProxyType(inh))
        s(self, "hepatic_cl_ratio", MappingProxyType(hep))
        s(self, "hepatic_fraction", MappingProxyType(fractions("hepatic_fraction", self.hepatic_fraction)))
        s(self, "cyp3a4_formed", tuple((str(p), str(m)) for p, m in self.cyp3a4_formed))
        for parent, met in self.cyp3a4_formed:
            if parent not in fm:
                raise PharmsimError(f"cyp3a4_formed names {met!r} formed from {parent!r} by CYP3A4, so fm_cyp3a4 "
                                    f"needs an entry for {parent!r}; got {list(fm)}")
        s(self, "sources", MappingProxyType(dict(self.sources or {})))

    def table(self) -> pd.DataFrame:
        """Every number with its source (for reports and teaching)."""
        rows = [("allometric exponent of clearances", self.cl_exponent, "1", self.sources.get("cl_exponent", "")),
                ("allometric exponent of volumes", self.v_exponent, "1", self.sources.get("v_exponent", ""))]
        rows += [(f"fm,CYP3A4 of {c}", v, "fraction", self.sources.get(f"fm_cyp3a4.{c}", ""))
                 for c, v in self.fm_cyp3a4.items()]
        rows += [(f"CYP3A4 inhibited fraction, {lvl} inhibitor", v, "fraction",
                  self.sources.get(f"inhibited_fraction.{lvl}", "")) for lvl, v in self.inhibited_fraction.items()]
        rows += [(f"hepatic clearance ratio, {lvl} impairment", v, "ratio",
                  self.sources.get(f"hepatic_cl_ratio.{lvl}", "")) for lvl, v in self.hepatic_cl_ratio.items()]
        rows += [(f"hepatic fraction of the clearance of {c}", v, "fraction",
                  self.sources.get(f"hepatic_fraction.{c}", "")) for c, v in self.hepatic_fraction.items()]
        return pd.DataFrame(rows, columns=["quantity", "value", "unit", "source"])


#: Child-Pugh class of each hepatic impairment level.
_CHILD_PUGH = {"mild": "Child-Pugh A", "moderate": "Child-Pugh B", "severe": "Child-Pugh C"}


@dataclass(frozen=True, eq=False)
class Catalog:
    """Model parts built from a library's rows (see the module docstring). Build with :func:`catalog`."""

    library: Library

    # ------------------------------------------------------------------------------------- compounds
    def compound_id(self, name: str) -> str:
        """The id of a compound name or alias (an error with suggestions otherwise)."""
        return self.library.compound(name).id

    def molar_mass(self, compound: str) -> float:
        return float(self.library.compound(compound).molar_mass_g_per_mol)

    def pk_compounds(self) -> tuple[str, ...]:
        """Compounds with a human PK structure in the library (an ``n_compartments`` row), in file order."""
        ids = [c.id for c in self.library.compounds()]
        have = set(self.library.compounds_with("n_compartments", "PK"))
        return tuple(c for c in ids if c in have)

    def has_pk(self, compound: str) -> bool:
        return self.compound_id(compound) in self.pk_compounds()

    def routes(self, compound: str) -> tuple[str, ...]:
        """Extravascular routes of ``compound``: every target at which it has an absorption rate ``ka`` row
        (``'iv'``, into the central compartment, always exists)."""
        return tuple(t for t in self.library.targets("ka", compound) if t not in _NOT_ROUTES)

    def parent(self, compound: str) -> str | None:
        """The compound that ``compound`` is formed from in the body (a ``formed_from`` row), or None."""
        cid = self.compound_id(compound)
        parents = [t for t in self.library.targets("formed_from", cid)]
        if len(parents) > 1:
            raise PharmsimError(f"{cid} has formed_from rows for several parents {parents}; one parent each")
        return parents[0] if parents else None

    def metabolites(self, compound: str) -> tuple[str, ...]:
        """Compounds formed from ``compound`` in the body (``formed_from`` rows whose target is it)."""
        cid = self.compound_id(compound)
        return tuple(m for m in self.pk_compounds() if self.parent(m) == cid)

    def with_metabolites(self, compounds: Sequence[str]) -> tuple[str, ...]:
        """``compounds`` (ids) with every metabolite formed from them (recursively), each once, parents first."""
        out: list[str] = []
        todo = [self.compound_id(c) for c in require_names("compounds", compounds)]
        while todo:
            c = todo.pop(0)
            if c in out:
                continue
            out.append(c)
            todo = list(self.metabolites(c)) + todo
        return tuple(out)

    def conversion(self, metabolite: str) -> Conversion | None:
        """The parent -> ``metabolite`` :class:`~pharmsim.pk.Conversion` the data describe, or None."""
        parent = self.parent(metabolite)
        if parent is None:
            return None
        lib = self.library
        p = lib.parameter("formed_from", metabolite, parent)
        pre = lib.has("presystemic_formation", metabolite, parent) and \
            lib.parameter("presystemic_formation", metabolite, parent).value > 0
        kinetics = "linear"
        if lib.has("formation_kinetics", metabolite, parent):
            kinetics = {0: "linear", 1: "michaelis-menten"}.get(
                int(lib.parameter("formation_kinetics", metabolite, parent).value), "linear")
        return Conversion(parent, self.compound_id(metabolite), presystemic=bool(pre),
                          enzyme=p.pathway if p.pathway != "-" else "", kinetics=kinetics)

    # ------------------------------------------------------------------------------------- PK
    def _need_pk(self, compound: str) -> str:
        cid = self.compound_id(compound)
        if cid not in self.pk_compounds():
            raise PharmsimError(
                f"{cid} has no human PK model in the library (no n_compartments row in data/structure.csv), so it "
                f"cannot be dosed (an in-vitro reference: curves and equilibrium tables only, see pharmsim "
                f"compounds); compounds with one: {', '.join(self.pk_compounds())}"
                f"{suggest(cid, self.pk_compounds())}. Give a PKModel of your own (build_model(..., pk_model=...)) "
                "or add its rows")
        return cid

    def compound_pk(self, compound: str, routes: Sequence[str] | None = None, effect_site: bool = True
                    ) -> CompoundPK:
        """The structure of ``compound``'s PK: compartments, routes (default all), effect site."""
        cid = self._need_pk(compound)
        n = int(self.library.parameter("n_compartments", cid, "PK").value)
        have = self.routes(cid)
        chosen = have if routes is None else tuple(r for r in routes if r != IV)
        for r in chosen:
            if r not in have:
                raise PharmsimError(f"route {r!r} of {cid} has no absorption data in the library; routes with data: "
                                    f"{[IV, *have]}{suggest(r, have)}")
        return CompoundPK(cid, self.molar_mass(cid), n, tuple(Route(r) for r in chosen), effect_site=effect_site)

    def _value(self, p: dict, src: dict, key: str, quantity: str, compound: str, target: str, unit: str,
               pathway: str | None = None) -> None:
        par = self.library.parameter(quantity, compound, target, pathway)
        src[key] = f"{par.source} [{par.status}]"
        p[key] = float(par.to(unit))

    def pk_parameters(self, cpk: CompoundPK) -> tuple[dict, dict]:
        """``({name: value}, {name: 'source [status]'})`` of one compound's PK parameters, from the library."""
        c = cpk.compound
        p, src = {}, {}
        central = "V" if cpk.n_compartments == 1 else "Vc"
        for info in cpk.parameter_info():
            if info.route is not None:
                quantity = {"ka": "ka", "F": "F", "tlag": "tlag", "mtt": "mtt"}[info.role]
                target = info.route
            else:
                quantity = {"V": central, "ke0": "t_half_ke0"}.get(info.role, info.role)
                target = "PK"
            unit = "h" if info.role == "ke0" else info.unit
            try:
                self._value(p, src, info.name, quantity, c, target, unit)
            except PharmsimError as err:
                raise PharmsimError(f"the PK model of {c} needs {quantity} at {target} ({info.name}): {err}") from None
            if info.role == "ke0":
                p[info.name] = _LN2 / p[info.name]
        return p, src

    def pk_model(self, compounds: Sequence[str], *, routes: Mapping[str, Sequence[str]] | None = None,
                 effect_sites: Sequence[str] | None = None) -> PKModel:
        """The documented default human PK model of ``compounds`` and the metabolites formed from them.

        Parameters
        ----------
        compounds : sequence of str
            Compound ids or aliases; metabolites formed from them in the body are added (MG brings 7-OH-MG).
        routes : mapping compound -> route names, optional
            The extravascular routes to build (default: every route with absorption data).
        effect_sites : sequence of str, optional
            Compounds with an effect site (default: every compound with a ``t_half_ke0`` row).

        Notes
        -----
        The structure and every number come from the library (see the module docstring); each parameter's
        source is in :attr:`PKModel.sources`. Teaching and research only, not dosing advice.
        """
        ids = self.with_metabolites(compounds)
        routes = {} if routes is None else {self.compound_id(k): tuple(v) for k, v in dict(routes).items()}
        comps, params, src = [], {}, {}
        for c in ids:
            eff = self.library.has("t_half_ke0", c, "PK") if effect_sites is None else c in effect_sites
            cpk = self.compound_pk(c, routes.get(c), effect_site=eff)
            comps.append(cpk)
            p, s = self.pk_parameters(cpk)
            params.update(p)
            src.update(s)
        by_id = {cp.compound: cp for cp in comps}
        convs = []
        for c in ids:
            cv = self.conversion(c)
            if cv is None or cv.parent not in by_id:
                continue
            convs.append(cv)
            for info in cv.parameter_info(by_id[cv.parent]):
                quantity = {"fm": "fm", "fpre": "fpre", "Vmax_form": "Vmax_form", "Km_form": "Km_form"}[info.role]
                target = info.route if info.route is not None else "PK"
                try:
                    self._value(params, src, info.name, quantity, cv.metabolite, target, info.unit)
                except PharmsimError as err:
                    raise PharmsimError(f"the formation of {cv.metabolite} from {cv.parent} needs {quantity} at "
                                        f"{target}: {err}") from None
        enzymes = self._enzymes(ids, by_id, params, src)
        return PKModel(tuple(comps), tuple(convs), params, src, enzymes)

    def _enzymes(self, ids: Sequence[str], by_id: Mapping[str, CompoundPK], params: dict, src: dict
                 ) -> tuple[Enzyme, ...]:
        """The enzymes of the model's substrates (an ``EH`` row at the enzyme), with the mechanism-based
        inhibitors among ``ids`` (``KI`` rows), and their parameters (data/interactions.csv)."""
        lib = self.library
        out = []
        names = dict.fromkeys(t for c in ids for t in lib.targets("EH", c))
        for name in names:
            subs = tuple(c for c in ids if lib.has("EH", c, name))
            inh = tuple(c for c in ids if lib.has("KI", c, name) and c not in subs)
            enz = Enzyme(name, inh, subs)
            for info in enz.parameter_info(by_id):
                key = info.name
                try:
                    if info.role == "kdeg":
                        site = key.split(".")[1]
                        self._value(params, src, key, "t_half_deg", "-", name, "h", pathway=site)
                        params[key] = _LN2 / params[key]
                    elif info.role == "Qent":
                        self._value(params, src, key, "Qent", "-", name, info.unit, pathway="gut")
                    elif info.role in ("KI", "kinact"):
                        site = key.split(".")[2]
                        self._value(params, src, key, info.role, info.compound, name, info.unit, pathway=site)
                    elif info.role == "Fg":
                        self._value(params, src, key, "Fg", info.compound, name, info.unit, pathway=info.route)
                    else:  # fm_enzyme, EH
                        q = {"fm_enzyme": "fm", "EH": "EH"}[info.role]
                        self._value(params, src, key, q, info.compound, name, info.unit)
                except PharmsimError as err:
                    raise PharmsimError(f"the {name} interaction model needs {info.role} for {info.compound} "
                                        f"({key}): {err}") from None
            out.append(enz)
        return tuple(out)

    def default_omega(self, parameter_info: Mapping[str, ParamInfo]) -> tuple[dict[str, float], dict[str, str]]:
        """Default between-subject variability (SD of log) for the PK parameters ``parameter_info`` (a
        :attr:`PKModel.parameter_info`), from ``omega`` rows (data/variability.csv: compound, target ``PK`` or
        ``oral`` = every extravascular route, pathway = the parameter's symbol: CL, V or Vc, Vp, ka, fm ...).
        Returns ``({name: omega}, {name: 'source [status]'})``; parameters without a row get none."""
        lib = self.library
        omega, src = {}, {}
        for name, info in parameter_info.items():
            role = {"V": ("V", "Vc")}.get(info.role, (info.role,))
            target = "oral" if info.route is not None else "PK"
            for r in role:
                if lib.has("omega", info.compound, target, r):
                    par = lib.parameter("omega", info.compound, target, r)
                    omega[name] = float(par.value)
                    src[name] = f"{par.source} [{par.status}]"
                    break
        return omega, src

    # ------------------------------------------------------------------------------------- ligands
    def receptors(self) -> tuple[str, ...]:
        """Receptors that some endpoint reads (``read_at`` rows), in file order."""
        return tuple(dict.fromkeys(self.endpoint_receptor(e) for e in self.endpoint_names()))

    def _choose(self, quantity, compound, receptor, pathway, source):
        lib = self.library
        if not lib.has(quantity, compound, receptor, pathway=pathway):
            return None
        if source is not None and not lib.has(quantity, compound, receptor, pathway=pathway, source=source):
            return None
        return lib.parameter(quantity, compound, receptor, pathway=pathway, source=source)

    def unbound_nM(self, p: Parameter) -> tuple[float, str]:
        """The affinity or potency ``p`` in nM on the model's basis (unbound concentration), and the conversion.

        Rows on the ``'total plasma'`` basis (``Parameter.basis``; e.g. Yassen 2007's in-vivo KD, Algera 2021's
        effect-site C50 on the total-plasma scale) are multiplied by the compound's fraction unbound ``fu``
        (``C_u = fu C``); ``'in vitro'`` (nominal free medium) and ``'unbound'`` rows are used as they are.
        """
        value = float(p.to("nM"))
        if p.basis != "total plasma":
            return value, ""
        if not self.library.has("fu", p.compound, "PK"):
            raise PharmsimError(f"{p.label} is on the total-plasma basis, and converting it to the unbound basis of "
                                f"the model needs a fraction unbound (fu) of {p.compound}; the library has none")
        fu = self.library.parameter("fu", p.compound, "PK")
        f = float(fu.to("fraction"))
        return value * f, (f" on the total-plasma basis, x fu {f:g} ({fu.source} [{fu.status}]) = "
                           f"{value * f:.4g} nM unbound")

    def binding_affinity(self, compound: str, receptor: str, source: str | None = None) -> Parameter | None:
        """The binding Ki (or Kd) row of ``compound`` at ``receptor`` (preferred, or ``source``'s), or None."""
        cid = self.compound_id(compound)
        for quantity in ("Ki", "Kd"):
            if self.library.has(quantity, cid, receptor):
                if source is not None and not self.library.has(quantity, cid, receptor, source=source):
                    continue
                return self.library.parameter(quantity, cid, receptor, source=source)
        if source is not None:
            raise PharmsimError(f"the library has no Ki or Kd of {cid} at {receptor} from {source!r}; sources: "
                                f"{self._sources(('Ki', 'Kd'), cid, receptor)}")
        return None

    def _sources(self, quantities, compound, receptor, pathway=None) -> list[str]:
        out = []
        for q in quantities:
            if self.library.has(q, compound, receptor, pathway=pathway):
                out += list(self.library.sources(q, compound, receptor, pathway=pathway)["source"])
        return list(dict.fromkeys(out))

    def _anchors(self, cid: str, receptor: str, quantity: str) -> list[tuple[Endpoint, Parameter]]:
        """In-vivo anchor rows (``quantity`` 'C50' or 'Emax', compound ``cid``, target an endpoint at ``receptor``)."""
        lib = self.library
        return [(self.endpoint(name), lib.parameter(quantity, cid, name, pathway="G protein"))
                for name in self.endpoint_names(receptor) if lib.has(quantity, cid, name, pathway="G protein")]

    def efficacy(self, compound: str, receptor: str, tau_source: str | None = None
                 ) -> tuple[float, str, Parameter | None]:
        """``(efficacy, source text, tau row or None)`` of ``compound`` at ``receptor``.

        The efficacy is the operational tau in the reference system of unit gain: the G-protein ``tau`` row (the
        preferred one, or ``tau_source``'s); without one, it is derived from an in-vivo ceiling (an ``Emax`` row of
        the compound at an endpoint, data/endpoints.csv): ``tau_E = (e/(1 - e))^(1/n)``, efficacy ``tau_E/g_E``
        (Black & Leff 1983, doi:10.1098/rspb.1983.0093). Raises, saying what to add, when neither exists.
        """
        cid = self.compound_id(compound)
        tau_p = self._choose("tau", cid, receptor, "G protein", tau_source)
        if tau_p is not None:
            return float(tau_p.value), source_text(tau_p), tau_p
        if tau_source is not None:
            raise PharmsimError(f"the library has no G-protein efficacy (tau) of {cid} at {receptor} from "
                                f"{tau_source!r}; sources: {self._sources(('tau',), cid, receptor, 'G protein')}")
        anchors = self._anchors(cid, receptor, "Emax")
        if anchors:
            ep, p = anchors[0]
            e = float(p.to("fraction")) / ep.Em
            tau_ep = float(tau_from_emax(e, ep.n))
            eff = tau_ep / (ep.gain * ep.receptor_fraction)
            return eff, (f"derived from an in-vivo ceiling: tau at {ep.name} = e/(1 - e) = {tau_ep:.4g} with e = "
                         f"{e:g} ({source_text(p)}), divided by the {ep.name} gain {ep.gain:g} = {eff:.4g}"), None
        raise PharmsimError(
            f"{cid} binds {receptor}, but the library holds no G-protein efficacy (tau) for it there and no in-vivo "
            f"ceiling to derive one from, so {cid} cannot be given a response (dose, comparison or response curve) "
            f"at {receptor}; add one with Library.with_value('tau', {cid!r}, {receptor!r}, value, '-', "
            f"pathway='G protein', source=...) or leave {cid} out")

    def affinities(self, compound: str, receptor: str, *, tau_source: str | None = None
                   ) -> dict[str, tuple[float, str, str]]:
        """Every equilibrium constant of ``compound`` at ``receptor`` the library supports, side by side.

        Returns ``{kind: (K_nM on the unbound basis, source text, source name)}`` for the kinds in
        :data:`AFFINITY_KINDS` that exist: the in-vivo K_A anchored to a human C50, the in-vitro functional K_A
        (``EC50 (1 + tau)`` of the tau's assay), the in-vivo KD, the functional K_B, the binding Ki and Kd.
        Binding Ki and functional K_A are different numbers (assay, Na+/GTP, radioligand state); pharmsim uses one
        (:meth:`ligand` says which) and shows all.
        """
        cid = self.compound_id(compound)
        lib = self.library
        out: dict[str, tuple[float, str, str]] = {}
        try:
            eff, eff_text, tau_p = self.efficacy(cid, receptor, tau_source)
        except PharmsimError:
            eff, tau_p = None, None
        if eff:
            for ep, p in self._anchors(cid, receptor, "C50"):
                c50, conv = self.unbound_nM(p)
                tau_ep = eff * ep.gain * ep.receptor_fraction
                K = float(K_A_from_ec50(c50, tau_ep, ep.n))
                out[IN_VIVO_K_A] = (K, f"derived: K = C50,u ((2 + tau^n)^(1/n) - 1) with C50 {p.value:g} {p.unit} "
                                       f"({source_text(p)}){conv}, tau at {ep.name} = {tau_ep:.4g} (efficacy x gain "
                                       f"{ep.gain:g}) = {K:.4g} nM", p.source)
                break
        if eff and tau_p is not None and lib.has("EC50", cid, receptor, pathway="G protein", source=tau_p.source):
            ec = lib.parameter("EC50", cid, receptor, pathway="G protein", source=tau_p.source)
            ec50, conv = self.unbound_nM(ec)
            K = float(K_A_from_ec50(ec50, eff))
            out[FUNCTIONAL_K_A] = (K, f"derived: K_A = EC50 x (1 + tau) = {ec50:g} nM x (1 + {eff:g}){conv} from "
                                      f"{source_text(ec)}", ec.source)
        if lib.has("Kd", cid, receptor):
            kd = lib.parameter("Kd", cid, receptor)
            value, conv = self.unbound_nM(kd)
            kind = IN_VIVO_KD if kd.basis in ("total plasma", "unbound") else BINDING_KD
            out[kind] = (value, source_text(kd) + conv, kd.source)
        if lib.has("Kb", cid, receptor, pathway="G protein"):
            kb = lib.parameter("Kb", cid, receptor, pathway="G protein")
            value, conv = self.unbound_nM(kb)
            out[FUNCTIONAL_K_B] = (value, source_text(kb) + conv, kb.source)
        if lib.has("Ki", cid, receptor):
            ki = lib.parameter("Ki", cid, receptor)
            value, conv = self.unbound_nM(ki)
            out[BINDING_KI] = (value, source_text(ki) + conv, ki.source)
        return out

    def _same_assay(self, cid: str, receptor: str, K_source: str | None, tau_source: str | None):
        """A source chosen for K or for tau selects that assay for both where it reports both (EC50 and tau), so
        that K_A = EC50 (1 + tau) is never built from one assay's potency and another's efficacy."""
        lib = self.library
        if K_source is not None and tau_source is None and \
                lib.has("tau", cid, receptor, pathway="G protein", source=K_source):
            tau_source = K_source
        if tau_source is not None and K_source is None and \
                lib.has("EC50", cid, receptor, pathway="G protein", source=tau_source):
            K_source = tau_source
        return K_source, tau_source

    def _K_from_source(self, cid, receptor, source, affinity, affs, tau_p):
        """The K of ``source`` (its functional K_A when it reports EC50 and tau, else its Ki, Kd or K_B)."""
        lib = self.library
        order = (FUNCTIONAL_K_A, FUNCTIONAL_K_B, BINDING_KI, BINDING_KD, IN_VIVO_KD) if affinity != "binding" else \
            (BINDING_KI, BINDING_KD, IN_VIVO_KD, FUNCTIONAL_K_B)
        for kind in order:
            if kind == FUNCTIONAL_K_A:
                if tau_p is not None and tau_p.source == source and kind in affs:
                    return affs[kind][0], kind, affs[kind][1]
                continue
            quantity, pathway = {FUNCTIONAL_K_B: ("Kb", "G protein"), BINDING_KI: ("Ki", None),
                                 BINDING_KD: ("Kd", None), IN_VIVO_KD: ("Kd", None)}[kind]
            if lib.has(quantity, cid, receptor, pathway=pathway, source=source):
                p = lib.parameter(quantity, cid, receptor, pathway=pathway, source=source)
                if quantity == "Kd" and (p.basis in ("total plasma", "unbound")) != (kind == IN_VIVO_KD):
                    continue
                value, conv = self.unbound_nM(p)
                return value, kind, source_text(p) + conv
        raise PharmsimError(f"the library has no Ki or Kd of {cid} at {receptor} from {source!r} (nor an EC50 with "
                            f"its tau, or a Kb); sources: "
                            f"{self._sources(('Ki', 'Kd', 'Kb', 'EC50'), cid, receptor)}")

    def ligand(self, compound: str, receptor: str, *, affinity: str = "functional", K_source: str | None = None,
               tau_source: str | None = None, kinetic: bool = True, notes: list | None = None) -> Ligand | None:
        """``compound`` at ``receptor`` with every number and source, or None when it has no affinity there.

        The efficacy comes from :meth:`efficacy`. The K in use (``Ligand.K_nM``, named by ``Ligand.K_kind``; all
        kinds in ``Ligand.affinities``, from :meth:`affinities`) is, by ``affinity``:

        ``'functional'`` (default)
            the in-vivo K_A anchored to a human C50 > the in-vitro functional K_A of the tau's assay > an in-vivo
            KD > the functional K_B > the binding Ki > the binding Kd. In-vivo potency anchors in-vitro numbers
            where both exist; a compound without an in-vivo anchor keeps its in-vitro K_A.
        ``'in vitro'``
            the in-vitro functional K_A > K_B > Ki > Kd (no in-vivo anchor).
        ``'binding'``
            the binding Ki > Kd > in-vivo KD > K_B.

        ``K_source`` / ``tau_source`` choose a source; a source that reports both an EC50 and a tau is used for
        both (K_A and tau of one assay stay together). With kinetic binding and published kon/koff rows, K is
        ``koff/kon`` (converted to the unbound basis). Every affinity is used on the unbound basis
        (:meth:`unbound_nM`). ``notes`` (a list) receives the choices made.

        Raises when the compound binds but has no efficacy there (:meth:`efficacy`).
        """
        require_choice("affinity", affinity, AFFINITY_CHOICES)
        notes = [] if notes is None else notes
        cid = self.compound_id(compound)
        K_source, tau_source = self._same_assay(cid, receptor, K_source, tau_source)
        affs = self.affinities(cid, receptor, tau_source=tau_source)
        if not affs and K_source is None:
            return None
        eff, eff_text, tau_p = self.efficacy(cid, receptor, tau_source)
        sources = {"efficacy": eff_text}
        if K_source is not None:
            K, kind, K_text = self._K_from_source(cid, receptor, K_source, affinity, affs, tau_p)
            if kind != FUNCTIONAL_K_A and tau_p is not None and tau_p.source != K_source:
                notes.append(f"{cid} at {receptor}: K ({kind}) from {K_source} and efficacy from {tau_p.source} come "
                             "from different assays")
            affs[kind] = (K, K_text, K_source)       # the chosen source's value is the one shown for its kind
        else:
            if not affs:
                raise PharmsimError(f"{cid} at {receptor} has no affinity in the library")
            kinds = [k for k in _AFFINITY_ORDER[affinity] if k in affs and (eff > 0 or k not in _AGONIST_ONLY)]
            if not kinds:
                raise PharmsimError(f"{cid} at {receptor}: none of its affinities ({', '.join(affs)}) can be used "
                                    f"with affinity={affinity!r}")
            kind = kinds[0]
            K, K_text = affs[kind][0], affs[kind][1]
        sources["K"] = K_text
        Ki = affs[BINDING_KI][0] if BINDING_KI in affs else None
        if BINDING_KI in affs:
            sources["Ki"] = affs[BINDING_KI][1]
        for k, (_, text, _) in affs.items():
            sources[f"affinity: {k}"] = text
        arr = self._choose("internalisation_efficacy", cid, receptor, "beta-arrestin", None)
        if arr is not None:
            arrestin, sources["arrestin_efficacy"] = float(arr.value), source_text(arr)
        elif eff == 0:
            arrestin = 0.0
            sources["arrestin_efficacy"] = "antagonist (tau = 0): no signalling, no arrestin-driven desensitisation"
        else:
            arrestin, sources["arrestin_efficacy"] = None, "not in the library"
        eff_short = tau_p.source if tau_p is not None else "in-vivo ceiling"
        K_short = K_source or affs.get(kind, (None, None, ""))[2]
        ki_text = f"; Ki {Ki:.3g} nM" if Ki is not None and kind != BINDING_KI else ""
        label = f"K = {_SHORT_KIND[kind]} ({_short(K_short)}){ki_text}; tau: {_short(eff_short)}"
        lig = Ligand(cid, K, eff, receptor=receptor, source=label, arrestin_efficacy=arrestin, Ki_nM=Ki,
                     K_kind=kind, sources=sources, affinities={k: v for k, (v, _, _) in affs.items()})
        others = ", ".join(f"{k} {v:.3g} nM" for k, (v, _, _) in affs.items() if k != kind)
        notes.append(f"{cid} at {receptor}: K in use {K:.3g} nM ({kind})" + (f"; also {others}" if others else ""))
        if kinetic:
            lig = self._with_kinetics(lig, notes)
        return lig

    def _with_kinetics(self, lig: Ligand, notes: list) -> Ligand:
        lib, cid, r = self.library, lig.name, lig.receptor
        if lib.has("koff", cid, r):
            koff_p = lib.parameter("koff", cid, r)
            koff = float(koff_p.to("1/h"))
            if lib.has("kon", cid, r):
                kon_p = lib.parameter("kon", cid, r)
                kon = float(kon_p.to("1/(nM*h)"))
                conv = ""
                if kon_p.basis == "total plasma":
                    fu = float(lib.parameter("fu", cid, "PK").to("fraction"))
                    kon, conv = kon / fu, f" / fu {fu:g} (total-plasma basis -> unbound)"
                notes.append(f"{cid} at {r}: K = koff/kon = {koff / kon:.3g} nM (unbound) from the published rate "
                             f"constants ({kon_p.source}{conv}), in place of the {lig.K_kind} ({lig.K_nM:.3g} nM)")
                out = lig.with_kinetics(koff, kon, f"kon {source_text(kon_p)}{conv}; koff {source_text(koff_p)}")
                ki_text = f"; Ki {lig.Ki_nM:.3g} nM" if lig.Ki_nM is not None else ""
                return replace(out, source=f"K = kinetic KD ({_short(kon_p.source)}){ki_text}; "
                                            f"tau: {lig.source.split('; tau: ')[-1]}")
            return lig.with_kinetics(koff, None, f"koff {source_text(koff_p)}; kon = koff/K")
        koff = float(lib.parameter("koff_fast_default", "-", r).to("1/h"))
        notes.append(f"{cid} at {r}: no published binding kinetics; fast binding assumed "
                     f"(koff {koff:g} /h, kon = koff/K; data/endpoints.csv)")
        return lig.with_kinetics(koff, None, f"assumption: koff_fast_default {koff:g} /h (data/endpoints.csv); "
                                             "kon = koff/K")

    def efficacy_sources(self, receptor: str) -> tuple[str, ...]:
        """Every source with a G-protein tau row at ``receptor`` (for choosing, e.g., the DOR efficacy)."""
        out = []
        for c in self.library.compounds_with("tau", receptor):
            out += self._sources(("tau",), c, receptor, "G protein")
        return tuple(dict.fromkeys(out))

    # ------------------------------------------------------------------------------------- endpoints
    def endpoint_names(self, receptor: str | None = None) -> tuple[str, ...]:
        """Endpoints defined in the library (``read_at`` rows), optionally those at ``receptor``."""
        names = self.library.targets("read_at", "-")
        if receptor is None:
            return names
        return tuple(n for n in names if self.endpoint_receptor(n) == receptor)

    def endpoint_receptor(self, name: str) -> str:
        require_choice("endpoint", name, self.library.targets("read_at", "-"))
        return self.library.parameter("read_at", "-", name).pathway

    def endpoint(self, name: str, gain_source: str | None = None) -> Endpoint:
        """The endpoint ``name`` with its gain (the preferred row, or ``gain_source``'s), Em and slope from
        ``data/endpoints.csv``."""
        receptor = self.endpoint_receptor(name)
        vals = {q: float(self.library.value(q, "-", name, unit, pathway="G protein",
                                            source=gain_source if q == "gain" else None))
                for q, unit in (("gain", "fraction"), ("Em", "fraction"), ("n", "-"))}
        return Endpoint(name=name, receptor=receptor, gain=vals["gain"], Em=vals["Em"], n=vals["n"])

    def gain_sources(self, name: str) -> tuple[str, ...]:
        """Every source of a gain row of endpoint ``name`` (the preferred first): results can be shown under each
        (e.g. the respiratory gain derived from Dahan 2004 and the older teaching assumption)."""
        rows = self.library.sources("gain", "-", name, pathway="G protein")
        return tuple(rows.sort_values("preferred", ascending=False)["source"])

    def with_gain(self, name: str, source: str) -> Catalog:
        """This catalog with ``source``'s gain row preferred for endpoint ``name`` (every ligand derived from an
        in-vivo anchor at that endpoint is re-derived with it)."""
        return catalog(self.library.prefer("gain", "-", name, source, pathway="G protein"))

    # ------------------------------------------------------------------------------------- tolerance
    def tolerance(self, mechanism: str, receptor: str = "MOR") -> ToleranceParams:
        """The tolerance model with the named ``mechanism``, calibrated on published data (``data/tolerance.csv``).

        Calibration state: the reference compound (the ``tolerance_reference_conc`` row, morphine at its analgesic
        C50, Dahan 2004) held at that unbound concentration, occupancy ``B = C_u/(K + C_u)`` with its K in use. The
        G-protein and arrestin stimuli there, ``eps B`` and ``a B``, are the normalisers ``s_ref_*``; ``k_des`` is
        chosen so that at that state ``D`` approaches its steady state with the published tolerance half-life
        (``t_half_development``, Ekblom 1993): ``k_des + k_rec = ln 2 / t_half``. Every mechanism thus reproduces
        the same morphine data and differs for other ligands. Tolerance applies to the endpoints at ``receptor``
        only (the calibration data are MOR data).

        Parameters
        ----------
        mechanism : {'gprotein', 'arrestin', 'both'}
            Required: no mechanism is a default.
        receptor : str
        """
        require_choice("mechanism", mechanism, MECHANISMS)
        lib = self.library
        refs = lib.compounds_with("tolerance_reference_conc", receptor)
        if len(refs) != 1:
            raise PharmsimError(f"the tolerance calibration needs exactly one tolerance_reference_conc row at "
                                f"{receptor}; found {list(refs)}")
        ref = refs[0]
        c_p = lib.parameter("tolerance_reference_conc", ref, receptor)
        c_u, _ = self.unbound_nM(c_p)
        lig = self.ligand(ref, receptor, kinetic=False)
        B = c_u / (lig.K_nM + c_u)
        s_g, s_a = lig.efficacy * B, (lig.arrestin_efficacy or 0.0) * B
        if mechanism != "gprotein" and s_a <= 0:
            raise PharmsimError(f"the arrestin stimulus of the reference compound {ref} is zero, so mechanism "
                                f"{mechanism!r} cannot be calibrated")
        t_half = lib.parameter("t_half_development", "-", receptor)
        k_rec = lib.parameter("k_rec", "-", receptor)
        rate = _LN2 / float(t_half.to("h"))
        k_des = rate - float(k_rec.to("1/h"))
        if k_des <= 0:
            raise PharmsimError(f"the tolerance half-life ({t_half.value:g} {t_half.unit}) must be shorter than the "
                                f"recovery half-life; got k_des = {k_des:g} /h")
        d_ss = k_des / rate
        text = (f"calibrated on {ref} held at {c_p.value:g} {c_p.unit} ({c_p.source}; {c_u:.3g} nM unbound, "
                f"occupancy {B:.3g}): D -> {d_ss:.2f} with t1/2 {t_half.value:g} h ({t_half.source}), recovery "
                f"k_rec {float(k_rec.to('1/h')):g} /h ({k_rec.source}); rat data used for humans")
        return ToleranceParams(k_des_per_h=k_des, k_rec_per_h=float(k_rec.to("1/h")),
                               k_adapt_per_h=float(lib.value("k_adapt", "-", receptor, "1/h")),
                               adapt_gain=float(lib.value("adapt_gain", "-", receptor, "fraction")),
                               mechanism=mechanism, s_ref_gprotein=s_g, s_ref_arrestin=s_a if s_a > 0 else 1.0,
                               receptors=(receptor,), description=text)

    # ------------------------------------------------------------------------------------- covariates
    def covariate_effects(self) -> CovariateEffects:
        """The documented default covariate model, every number read from ``data/covariates.csv``."""
        lib = self.library
        src: dict = {}

        def get(key, quantity, compound, target, unit):
            par = lib.parameter(quantity, compound, target)
            src[key] = f"{par.source} [{par.status}]"
            return float(par.to(unit))

        cl_exp = get("cl_exponent", "exponent_CL", "-", "allometry", "1")
        v_exp = get("v_exponent", "exponent_V", "-", "allometry", "1")
        fm = {c: get(f"fm_cyp3a4.{c}", "fm", c, "CYP3A4", "fraction") for c in lib.compounds_with("fm", "CYP3A4")}
        inh = {lvl: get(f"inhibited_fraction.{lvl}", "inhibited_fraction", "-", f"CYP3A4 inhibitor {lvl}",
                        "fraction") for lvl in ("moderate", "strong")}
        hep = {lvl: get(f"hepatic_cl_ratio.{lvl}", "hepatic_CL_ratio", "-", cp, "fraction")
               for lvl, cp in _CHILD_PUGH.items()}
        hfrac = {c: get(f"hepatic_fraction.{c}", "hepatic_fraction", c, "hepatic impairment", "fraction")
                 for c in lib.compounds_with("hepatic_fraction", "hepatic impairment")}
        formed = []
        for m in self.pk_compounds():
            cv = self.conversion(m)
            if cv is not None and cv.enzyme == "CYP3A4" and cv.parent in fm:
                formed.append((cv.parent, cv.metabolite))
        return CovariateEffects(cl_exponent=cl_exp, v_exponent=v_exp, fm_cyp3a4=fm, cyp3a4_formed=tuple(formed),
                                inhibited_fraction=inh, hepatic_cl_ratio=hep, hepatic_fraction=hfrac, sources=src)

    # ------------------------------------------------------------------------------------- products
    def product_forms(self) -> tuple[str, ...]:
        """The product forms (``product_form`` rows); each is also an absorption route of its compounds."""
        return self.library.targets("product_form", "-")

    def product_contents_percent(self, form: str) -> dict[str, float]:
        """``{compound: % w/w}`` of every compound with a default ``content`` row at ``form``."""
        require_choice("form", form, self.product_forms())
        out = {}
        have = set(self.library.compounds_with("content", form))
        for c in (x.id for x in self.library.compounds() if x.id in have):
            par = self.library.parameter("content", c, form)
            factor = {"%": 1.0, "% w/w": 1.0, "mg/g": 0.1, "fraction": 100.0}.get(par.unit)
            if factor is None:
                raise PharmsimError(f"content row of {c} at {form} has unit {par.unit!r}; expected %, % w/w or mg/g")
            out[c] = float(par.value) * factor
        return out

    # ------------------------------------------------------------------------------------- what each can do
    def _dose_capability(self, cid: str) -> tuple[bool, str]:
        """``(can be dosed, human PK text or why not)``."""
        if cid in self.pk_compounds():
            try:
                self.pk_model([cid])
            except PharmsimError as err:
                return False, f"incomplete human PK: {err}"
            parent = self.parent(cid)
            routes = ", ".join([IV, *self.routes(cid)])
            return True, routes + (f" (also formed from {parent})" if parent else "")
        return False, "no human PK in the library"

    def _product_compounds(self) -> set[str]:
        out: set[str] = set()
        for form in self.product_forms():
            out |= set(self.product_contents_percent(form))
        return set(self.with_metabolites(sorted(out))) if out else out

    def capabilities(self) -> pd.DataFrame:
        """One row per compound: what the library lets pharmsim do with it, and why not where it cannot.

        Columns: ``compound``, ``name``, ``human_pk`` (routes, or why not), ``dose`` (bool: can be given in
        :func:`pharmsim.dosing.dose` to a model), one column per receptor (``'agonist, tau ...; K ... nM (kind)'``,
        ``'antagonist ...'``, ``'binds, no efficacy ...'``, ``'-'``), ``curve`` (bool) and ``curve_at`` (the
        receptors at which ``pharmsim curve`` draws it), ``comparison`` (its role in
        :func:`pharmsim.comparison.compare_with_full_agonist`: ``'reference'`` for a dosable MOR agonist,
        ``'reversal'`` for a dosable MOR antagonist, ``'kratom'`` for the product alkaloids, ``'-'``) and
        ``cannot`` (what it cannot do, and why). A test exercises every claim.
        """
        return self._capability_table.copy()

    @functools.cached_property
    def _capability_table(self) -> pd.DataFrame:
        rows = []
        receptors = self.receptors()
        in_products = self._product_compounds()
        for c in self.library.compounds():
            row = {"compound": c.id, "name": c.name}
            row["dose"], row["human_pk"] = self._dose_capability(c.id)
            cannot = [] if row["dose"] else [f"dose: {row['human_pk']}"]
            curve_at, mor = [], None
            for r in receptors:
                try:
                    lig = self.ligand(c.id, r, kinetic=False)
                except PharmsimError:
                    row[r] = "binds, no efficacy in the library"
                    cannot.append(f"curve at {r}: binds, but no efficacy (tau) in the library")
                    continue
                if lig is None:
                    row[r] = "-"
                    continue
                curve_at.append(r)
                mor = lig if r == "MOR" else mor
                row[r] = ("antagonist (tau 0)" if lig.efficacy == 0 else f"agonist, efficacy {lig.efficacy:.3g}") + \
                    f"; K {lig.K_nM:.3g} nM ({lig.K_kind})"
            row["curve"] = bool(curve_at)
            row["curve_at"] = ", ".join(curve_at) or "-"
            if not curve_at:
                cannot.append("curve: no affinity with an efficacy at any receptor of the model")
            elif not row["dose"]:
                cannot[0] += " (an in-vitro reference: curves and equilibrium tables only)"
            if c.id in in_products:
                row["comparison"] = "kratom"
            elif row["dose"] and mor is not None:
                row["comparison"] = "reference" if mor.efficacy > 0 else "reversal"
            else:
                row["comparison"] = "-"
                cannot.append("comparison: " + ("no human PK" if not row["dose"] else "no MOR affinity and efficacy"))
            row["cannot"] = "; ".join(cannot) or "-"
            rows.append(row)
        return pd.DataFrame(rows)

    def require(self, compound: str, capability: str, receptor: str | None = None) -> str:
        """The compound id if ``compound`` can do ``capability`` (one of :data:`CAPABILITIES`, at ``receptor`` for
        a curve); else a :class:`PharmsimError` saying what it cannot do and why (as ``pharmsim compounds``)."""
        require_choice("capability", capability, CAPABILITIES)
        cid = self.compound_id(compound)
        caps = self._capability_table.set_index("compound").loc[cid]
        at = caps["curve_at"].split(", ")
        ok = {"dose": bool(caps["dose"]), "comparison": caps["comparison"] in ("reference", "reversal", "kratom"),
              "curve": bool(caps["curve"]) if receptor is None else receptor in at}[capability]
        if ok:
            return cid
        able = self._capability_table
        if capability == "curve" and receptor is not None:
            able = able[able["curve_at"].str.split(", ").apply(lambda x: receptor in x)]
        else:
            able = able[able[capability].astype(bool) & (able[capability] != "-")]
        where = f" at {receptor}" if receptor else ""
        raise PharmsimError(f"{cid} cannot be used for {capability}{where}: {caps['cannot']}. Compounds that can: "
                            f"{', '.join(able['compound'])} (pharmsim compounds lists what each can do)")

@functools.lru_cache(maxsize=16)
def _catalog_of(library: Library) -> Catalog:
    return Catalog(library)


def catalog(library: Library | Catalog | None = None) -> Catalog:
    """The catalog of ``library`` (default: :func:`pharmsim.library.load_library`); a Catalog is returned as is.

    The one place in pharmsim where ``library=None`` means "the shipped data".
    """
    if isinstance(library, Catalog):
        return library
    if library is None:
        library = load_library()
    if not isinstance(library, Library):
        raise PharmsimError(f"library must be a pharmsim Library (load_library()) or a Catalog; got "
                            f"{type(library).__name__}")
    return _catalog_of(library)
