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

    efficacy   tau row (pathway 'G protein') at the receptor; 0 = competitive antagonist
    K          affinity='functional' (default): K_A = EC50 (1 + tau) with the EC50 of the tau's source
               (n = 1), so that K_A and tau come from one assay; a binding Ki where no EC50 exists
               affinity='binding': the binding Ki (or Kd) row
    kinetics   published koff (and kon) rows; else the receptor's koff_fast_default with kon = koff/K
    arrestin   internalisation_efficacy row (pathway 'beta-arrestin'); 0 for an antagonist

Not for: solving, populations or plotting; the numbers themselves live in ``data/*.csv``. Teaching and
research only, not dosing advice.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .library import Library, Parameter, load_library
from .pk import IV, CompoundPK, Conversion, PKModel, Route
from .receptor import Endpoint, Ligand
from .validate import PharmsimError, require_choice, suggest

__all__ = ["Catalog", "CovariateEffects", "catalog", "source_text"]

_LN2 = float(np.log(2.0))
#: Targets that are not routes even when a compound has rows there.
_NOT_ROUTES = ("PK",)


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

        from .validate import require_finite

        s = object.__setattr__
        for name in ("cl_exponent", "v_exponent"):
            s(self, name, float(require_finite(name, getattr(self, name))))

        def fractions(name, d, fixed=None):
            out = {} if fixed is None else dict(fixed)
            for k, v in dict(d or {}).items():
                f = float(require_finite(f"{name}[{k!r}]", v))
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
        todo = [self.compound_id(c) for c in compounds]
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
                f"cannot be dosed; compounds with one: {', '.join(self.pk_compounds())}"
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

    def _value(self, p: dict, src: dict, key: str, quantity: str, compound: str, target: str, unit: str) -> None:
        par = self.library.parameter(quantity, compound, target)
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
        return PKModel(tuple(comps), tuple(convs), params, src)

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

    def ligand(self, compound: str, receptor: str, *, affinity: str = "functional", K_source: str | None = None,
               tau_source: str | None = None, kinetic: bool = True, notes: list | None = None) -> Ligand | None:
        """``compound`` at ``receptor`` with every number and source, or None when it has no affinity there.

        Raises when the compound binds but has no efficacy (tau) row there: the error says what to add.
        ``notes`` (a list) receives the modelling choices made (fast-binding assumption, K kind).
        """
        require_choice("affinity", affinity, ("functional", "binding"))
        notes = [] if notes is None else notes
        cid = self.compound_id(compound)
        ki = self.binding_affinity(cid, receptor, K_source if affinity == "binding" else None)
        if ki is None and K_source is None:
            return None
        tau_p = self._choose("tau", cid, receptor, "G protein", tau_source)
        if tau_p is None:
            if tau_source is not None:
                raise PharmsimError(f"the library has no G-protein efficacy (tau) of {cid} at {receptor} from "
                                    f"{tau_source!r}; sources: {self._sources(('tau',), cid, receptor, 'G protein')}")
            raise PharmsimError(
                f"the library holds no G-protein efficacy (tau) for {cid} at {receptor}; add one with "
                f"Library.with_value('tau', {cid!r}, {receptor!r}, value, '-', pathway='G protein', source=...) "
                "or leave the compound out")
        eff = float(tau_p.value)
        sources = {"efficacy": source_text(tau_p)}
        K, kind, Ki = None, "binding Ki", None
        if ki is not None:
            Ki = float(ki.to("nM"))
            sources["Ki"] = source_text(ki)
        if affinity == "functional":
            if K_source is not None:
                ki_chosen = self.binding_affinity(cid, receptor, K_source)
                K, kind, sources["K"] = float(ki_chosen.to("nM")), "binding Ki", source_text(ki_chosen)
            elif eff > 0 and self.library.has("EC50", cid, receptor, pathway="G protein", source=tau_p.source):
                ec = self.library.parameter("EC50", cid, receptor, pathway="G protein", source=tau_p.source)
                K = float(ec.to("nM")) * (1.0 + eff)
                kind = "functional K_A"
                sources["K"] = (f"derived: K_A = EC50 x (1 + tau) = {ec.to('nM'):g} nM x (1 + {eff:g}) from "
                                f"{source_text(ec)}")
            elif eff > 0:
                notes.append(f"{cid} at {receptor}: no EC50 from the efficacy source, so the binding Ki is used as K_A")
        if K is None:
            if Ki is None:
                raise PharmsimError(f"{cid} at {receptor} has no binding Ki or Kd in the library")
            K, kind, sources["K"] = Ki, "binding Ki", sources["Ki"]
        arr = self._choose("internalisation_efficacy", cid, receptor, "beta-arrestin", None)
        if arr is not None:
            arrestin, sources["arrestin_efficacy"] = float(arr.value), source_text(arr)
        elif eff == 0:
            arrestin = 0.0
            sources["arrestin_efficacy"] = "antagonist (tau = 0): no signalling, no arrestin-driven desensitisation"
        else:
            arrestin, sources["arrestin_efficacy"] = None, "not in the library"
        lig = Ligand(cid, K, eff, receptor=receptor, source=tau_p.source, arrestin_efficacy=arrestin, Ki_nM=Ki,
                     K_kind=kind, sources=sources)
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
                notes.append(f"{cid} at {r}: K = koff/kon = {koff / kon:.3g} nM from the published rate constants "
                             f"({kon_p.source}), not the K_A ({lig.K_nM:.3g} nM)")
                return lig.with_kinetics(koff, kon, f"kon {source_text(kon_p)}; koff {source_text(koff_p)}")
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

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint ``name`` with its gain, Em and slope from ``data/endpoints.csv``."""
        receptor = self.endpoint_receptor(name)
        vals = {q: float(self.library.value(q, "-", name, unit, pathway="G protein"))
                for q, unit in (("gain", "fraction"), ("Em", "fraction"), ("n", "-"))}
        return Endpoint(name=name, receptor=receptor, gain=vals["gain"], Em=vals["Em"], n=vals["n"])

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
    def capabilities(self) -> pd.DataFrame:
        """One row per compound: what the library lets pharmsim do with it, and why not where it cannot.

        Columns: ``compound``, ``name``, ``human_pk`` (routes, or why not), ``dose`` (bool), then per receptor
        ``<R>`` (``'agonist tau ...'``, ``'antagonist'``, ``'binds, no efficacy'``, ``'-'``) and ``curve`` (bool:
        equilibrium curves can be drawn at some receptor).
        """
        rows = []
        receptors = self.receptors()
        for c in self.library.compounds():
            row = {"compound": c.id, "name": c.name}
            if c.id in self.pk_compounds():
                try:
                    self.pk_model([c.id])
                    row["human_pk"] = ", ".join([IV, *self.routes(c.id)])
                    row["dose"] = True
                except PharmsimError as err:
                    row["human_pk"] = f"incomplete: {err}"
                    row["dose"] = False
            else:
                parent = self.parent(c.id) if c.id in self.pk_compounds() else None
                row["human_pk"] = f"formed from {parent}" if parent else "no human PK in the library"
                row["dose"] = False
            drawable = False
            for r in receptors:
                try:
                    lig = self.ligand(c.id, r, kinetic=False)
                except PharmsimError:
                    row[r] = "binds, no efficacy (tau) in the library"
                    continue
                if lig is None:
                    row[r] = "-"
                else:
                    drawable = True
                    row[r] = ("antagonist (tau 0)" if lig.efficacy == 0 else f"agonist, tau {lig.efficacy:.3g}") + \
                        f"; K {lig.K_nM:.3g} nM ({lig.K_kind})"
            row["curve"] = drawable
            rows.append(row)
        return pd.DataFrame(rows)


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
