"""SBML export: a built pharmsim model with its doses, for libroadrunner/Tellurium, COPASI, PK-Sim/MoBi.

:func:`to_sbml` writes SBML Level 3 Version 2 (Hucka et al. 2019, doi:10.1515/jib-2019-0021) with
python-libsbml (Bornstein et al. 2008, doi:10.1093/bioinformatics/btn051), an optional extra
(``pip install "pharmsim[research]"``); :func:`to_antimony` converts that to Antimony text (Smith et al.
2009, doi:10.1093/bioinformatics/btp401) with the ``antimony`` package. The equations are those of
:mod:`pharmsim.pk` and :mod:`pharmsim.model`, written as SBML elements:

=====================================  ===================================================================
pharmsim                               SBML
=====================================  ===================================================================
PK amount states (depots, transit,     species in compartment ``body`` (1 L, unused), amounts in nmol
central, peripheral, eliminated)       (``hasOnlySubstanceUnits``), initial amount 0
first-order flows of                   one irreversible reaction per flow, mass action, e.g.
:meth:`PKModel.matrix`                 ``ka (1 - fpre) A_depot``, ``fm CL/V A_c``, ``Q/V A_c``
saturable elimination / formation      reaction ``Vmax C/(Km + C)``, ``C = A_c/V`` (Michaelis & Menten 1913)
plasma concentration (nM, ng/mL)       assignment rules ``C = A_c/V``, ``C_mass = C M / 1000``
effect site (nM)                       rate rule ``dCe/dt = ke0 (fu A_c/V - Ce)`` (Sheiner 1979)
kinetic binding at a receptor          rate rules ``dB_i/dt = kon_i Ce_i (1 - sum_j B_j) - koff_i B_i``
equilibrium binding                    assignment rules ``B_i = (Ce_i/K_i) / (1 + sum_j Ce_j/K_j)`` (Gaddum)
endpoint response (operational         assignment rules ``tau_i = efficacy_i gain q``, ``S = sum_i tau_i B_i``,
model, Black & Leff 1983)              ``E = Em S^n / (S^n + 1)``
bolus dose (time t, route lag tlag,    event ``time >= t + tlag`` (fires at t = 0 too: initialValue false)
bioavailability F)                     adding ``F amount`` to the route's first state (or to the compartment
                                       named; a dose's own F and lag replace the route's)
infusion (duration d, or a rate:       a source reaction at rate ``r`` (a parameter), set to ``F amount/d``
d = F amount / rate)                   by an event at ``t + tlag`` and to 0 by one at ``t + tlag + d``
=====================================  ===================================================================

Units (``hour``, ``nmol``, ``litre``, ``nM``, ``per_hour``, ``litre_per_hour``, ``per_nM_per_hour``,
``nmol_per_hour``, ``ng_per_mL``, ``g_per_mol``) are declared and every parameter carries one; the model's
time unit is the hour and its substance unit the nmol. Sources: every parameter has a note with the source
text pharmsim holds (:attr:`pharmsim.pk.PKModel.sources`, :attr:`pharmsim.receptor.Ligand.sources`) and, for
each DOI or PMID in it, a ``bqbiol:isDescribedBy`` annotation (identifiers.org URI); the model's notes state
the doses, the modelling choices (``Model.notes``), the identifier conventions and the disclaimer.

Identifiers (:func:`sbml_ids` lists them): names made SId-safe (characters other than letters, digits and
``_`` become ``_``; a leading digit gets a ``_``), e.g. ``A_MG_central`` (amount), ``MG_CL_L_per_h``
(PK parameter), ``C_MG`` / ``Cmass_MG`` (plasma), ``Ce__7_OH_MG`` (effect site), ``B_MOR_MG`` (occupancy),
``E_analgesia`` (response). The original names are the elements' ``name`` attributes.

Supported: linear and saturable PK with any routes, transit chains, lag times, presystemic and systemic
parent -> metabolite conversion, kinetic and equilibrium binding, every endpoint, boluses and infusions (by
duration or rate, into a route or a compartment, with the route's or the dose's own F and lag), for one
subject. Not supported (an error says so): tolerance (pharmsim integrates it with an exponential integrator of
its own, not an ODE an SBML tool would reproduce), enzyme pools (:class:`pharmsim.pk.Enzyme`), steady-state
doses, resets and modelled rates/durations (RATE = -1/-2), per-subject parameters or amounts (export one
subject: ``model.pk.subset([i])``).

Not for: simulating (:func:`pharmsim.solve.simulate`), importing SBML, SED-ML or COMBINE archives. Teaching and
research only, not dosing advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np

from .validate import PharmsimError

__all__ = ["to_sbml", "to_antimony", "sbml_ids", "SBML_UNITS"]

#: Unit definitions of the export: id -> ((kind, exponent, scale, multiplier), ...).
SBML_UNITS = {
    "hour": (("second", 1, 0, 3600.0),),
    "nmol": (("mole", 1, -9, 1.0),),
    "nM": (("mole", 1, -9, 1.0), ("litre", -1, 0, 1.0)),
    "per_hour": (("second", -1, 0, 3600.0),),
    "litre_per_hour": (("litre", 1, 0, 1.0), ("second", -1, 0, 3600.0)),
    "nmol_per_hour": (("mole", 1, -9, 1.0), ("second", -1, 0, 3600.0)),
    "per_nM_per_hour": (("mole", -1, -9, 1.0), ("litre", 1, 0, 1.0), ("second", -1, 0, 3600.0)),
    "ng_per_mL": (("gram", 1, -9, 1.0), ("litre", -1, -3, 1.0)),
    "g_per_mol": (("gram", 1, 0, 1.0), ("mole", -1, 0, 1.0)),
    "ng_per_mL_per_nM_x_g_per_mol": (("dimensionless", 1, 3, 1.0),),
}
_PK_UNITS = {"L/h": "litre_per_hour", "L": "litre", "fraction": "dimensionless", "1/h": "per_hour",
             "nmol/h": "nmol_per_hour", "nM": "nM", "h": "hour"}
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s;,()]+[^\s;,().])")
_PMID = re.compile(r"PMID[:\s]*(\d{5,9})", re.IGNORECASE)


def _libsbml():
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise PharmsimError("SBML export needs python-libsbml, an optional extra: pip install 'pharmsim[research]' "
                            "(or pip install python-libsbml)") from None
    return libsbml


def sid(text: str) -> str:
    """An SBML SId from any name: other characters than [A-Za-z0-9_] become '_', a leading digit gets '_'."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(text))
    return "_" + s if not s or s[0].isdigit() else s


# --------------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------------


@dataclass
class _Names:
    """Every identifier of one export, made once (and checked unique)."""

    model: object
    taken: dict = field(default_factory=dict)

    def add(self, ident: str, what: str) -> str:
        if ident in self.taken and self.taken[ident] != what:
            raise PharmsimError(f"two model elements get the SBML id {ident!r} ({self.taken[ident]} and {what}); "
                                "rename a compound, route or endpoint")
        self.taken[ident] = what
        return ident

    def state(self, state: str) -> str:
        return self.add("A_" + sid(state), f"state {state}")

    def param(self, name: str) -> str:
        return self.add(sid(name), f"PK parameter {name}")

    def conc(self, c: str) -> str:
        return self.add("C_" + sid(c), f"plasma concentration of {c}")

    def conc_mass(self, c: str) -> str:
        return self.add("Cmass_" + sid(c), f"plasma mass concentration of {c}")

    def molar_mass(self, c: str) -> str:
        return self.add("M_" + sid(c), f"molar mass of {c}")

    def effect(self, c: str) -> str:
        return self.add("Ce_" + sid(c), f"effect-site concentration of {c}")

    def occupancy(self, r: str, c: str) -> str:
        return self.add(f"B_{sid(r)}_{sid(c)}", f"occupancy of {c} at {r}")

    def ligand(self, what: str, r: str, c: str) -> str:
        return self.add(f"{what}_{sid(r)}_{sid(c)}", f"{what} of {c} at {r}")

    def endpoint(self, what: str, e: str) -> str:
        return self.add(f"{what}_{sid(e)}", f"{what} of endpoint {e}")

    def tau(self, e: str, c: str) -> str:
        return self.add(f"tau_{sid(e)}_{sid(c)}", f"tau of {c} in {e}")


def sbml_ids(model) -> dict:
    """The SBML ids :func:`to_sbml` gives the model's outputs and states.

    Returns
    -------
    dict
        ``{(quantity, compound, receptor, endpoint): id}`` for every output series of
        :func:`pharmsim.solve.simulate` the export has (``plasma_conc``, ``plasma_conc_mass``,
        ``effect_conc_unbound``, ``occupancy``, ``response``; labels as in :class:`pharmsim.result.Series`),
        and ``{('state', state name, '-', '-'): id}`` for every PK state.
    """
    names = _Names(model)
    out = {}
    for st in model.pk.states:
        if not st.endswith(".effect"):
            out[("state", st, "-", "-")] = names.state(st)
    for c in model.compounds:
        out[("plasma_conc", c, "-", "-")] = names.conc(c)
        out[("plasma_conc_mass", c, "-", "-")] = names.conc_mass(c)
        if c in model.pk.effect_states():
            out[("effect_conc_unbound", c, "-", "-")] = names.effect(c)
    for r in model.receptors:
        for lig in model.ligands_at(r):
            out[("occupancy", lig.name, r, "-")] = names.occupancy(r, lig.name)
        for ep in (e for e in model.endpoints if e.receptor == r):
            if model.ligands_at(r):
                out[("response", "all", r, ep.name)] = names.endpoint("E", ep.name)
    return out


# --------------------------------------------------------------------------------------------------
# the export
# --------------------------------------------------------------------------------------------------


def _check(model, doses):
    from .dosing import Doses
    from .model import Model

    if not isinstance(model, Model):
        raise PharmsimError(f"model must be a pharmsim Model (build_model()); got {type(model).__name__}")
    if not isinstance(doses, Doses):
        raise PharmsimError(f"doses must be a pharmsim Doses; got {type(doses).__name__}")
    model.check_doses(doses)
    if model.tolerance is not None:
        raise PharmsimError("SBML export does not support tolerance (pharmsim steps it with its own exponential "
                            "integrator); build the model with tolerance=False")
    if model.n_subjects != 1:
        raise PharmsimError(f"SBML export is for one subject; the model has per-subject parameters for "
                            f"{model.n_subjects} (export model.with_pk(model.pk.subset([i])))")
    if doses.n_subjects != 1:
        raise PharmsimError(f"SBML export is for one subject; the doses have per-subject amounts for "
                            f"{doses.n_subjects}")
    if getattr(model.pk, "enzymes", ()):
        raise PharmsimError("SBML export does not support enzyme pools (mechanism-based inhibition, first pass by "
                            f"an Enzyme: {[e.name for e in model.pk.enzymes]})")
    ss = np.asarray(getattr(doses, "ss", ()))
    if ss.size and np.any(ss != 0):
        raise PharmsimError("SBML export does not support steady-state doses (SS = 1 or 2); give the doses that "
                            "lead to steady state")
    if np.size(getattr(doses, "reset_h", ())):
        raise PharmsimError("SBML export does not support resets (EVID 3/4)")
    rate = np.asarray(getattr(doses, "rate_nmol_per_h", ()))
    if rate.size and np.any(rate < 0):
        raise PharmsimError("SBML export does not support modelled infusion rates or durations (RATE = -1 / -2); "
                            "give each dose's rate or duration")


class _Writer:
    def __init__(self, libsbml, model, doses, model_id, name):
        self.L = libsbml
        self.model, self.doses = model, doses
        self.names = _Names(model)
        self.doc = libsbml.SBMLDocument(3, 2)
        m = self.doc.createModel()
        m.setId(sid(model_id))
        m.setName(name or "pharmsim model")
        m.setMetaId("meta_" + sid(model_id))
        for attr, unit in (("setTimeUnits", "hour"), ("setSubstanceUnits", "nmol"), ("setExtentUnits", "nmol"),
                           ("setVolumeUnits", "litre")):
            getattr(m, attr)(unit)
        self.m = m
        self._meta = 0

    # ---------------------------------------------------------------------------------------- helpers
    def ok(self, code, what):
        if code != self.L.LIBSBML_OPERATION_SUCCESS:
            raise PharmsimError(f"libsbml refused {what} (code {code}: "
                                f"{self.L.OperationReturnValue_toString(code)})")

    def math(self, formula: str):
        ast = self.L.parseL3Formula(formula)
        if ast is None:
            raise PharmsimError(f"internal: libsbml cannot parse {formula!r}: {self.L.getLastParseL3Error()}")
        return ast

    def annotate(self, element, source: str):
        """A note with the source text, and identifiers.org isDescribedBy terms for its DOIs and PMIDs."""
        if not source:
            return
        self.ok(element.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>Source: {escape(source)}</p>'
                                 "</body>"), f"the notes of {element.getId()}")
        uris = [f"https://identifiers.org/doi:{d}" for d in _DOI.findall(source)]
        uris += [f"https://identifiers.org/pubmed:{p}" for p in _PMID.findall(source)]
        if not uris:
            return
        self._meta += 1
        element.setMetaId(f"meta_{element.getId()}_{self._meta}")
        cv = self.L.CVTerm(self.L.BIOLOGICAL_QUALIFIER)
        cv.setBiologicalQualifierType(self.L.BQB_IS_DESCRIBED_BY)
        for u in dict.fromkeys(uris):
            cv.addResource(u)
        self.ok(element.addCVTerm(cv), f"the annotation of {element.getId()}")

    def parameter(self, ident, value, unit, *, constant=True, name="", source=""):
        p = self.m.createParameter()
        p.setId(ident)
        if name:
            p.setName(name)
        p.setValue(float(value))
        p.setConstant(constant)
        p.setUnits(unit)
        self.annotate(p, source)
        return p

    def assignment(self, variable, formula):
        r = self.m.createAssignmentRule()
        r.setVariable(variable)
        self.ok(r.setMath(self.math(formula)), f"the assignment rule of {variable}")

    def rate(self, variable, formula):
        r = self.m.createRateRule()
        r.setVariable(variable)
        self.ok(r.setMath(self.math(formula)), f"the rate rule of {variable}")

    def reaction(self, ident, source, target, formula, name=""):
        r = self.m.createReaction()
        r.setId(self.names.add(ident, f"reaction {name or ident}"))
        r.setReversible(False)
        if name:
            r.setName(name)
        if source is not None:
            s = r.createReactant()
            s.setSpecies(source)
            s.setStoichiometry(1.0)
            s.setConstant(True)
        if target is not None:
            s = r.createProduct()
            s.setSpecies(target)
            s.setStoichiometry(1.0)
            s.setConstant(True)
        kl = r.createKineticLaw()
        self.ok(kl.setMath(self.math(formula)), f"the kinetic law of {ident}")

    def event(self, ident, trigger, assignments, name=""):
        e = self.m.createEvent()
        e.setId(self.names.add(ident, f"event {name or ident}"))
        if name:
            e.setName(name)
        e.setUseValuesFromTriggerTime(True)
        t = e.createTrigger()
        t.setInitialValue(False)          # a trigger true at t = 0 fires at the start
        t.setPersistent(True)
        self.ok(t.setMath(self.math(trigger)), f"the trigger of {ident}")
        for var, formula in assignments:
            a = e.createEventAssignment()
            a.setVariable(var)
            self.ok(a.setMath(self.math(formula)), f"the assignment of {var} in {ident}")

    # ---------------------------------------------------------------------------------------- parts
    def units(self):
        kinds = {"second": self.L.UNIT_KIND_SECOND, "mole": self.L.UNIT_KIND_MOLE, "litre": self.L.UNIT_KIND_LITRE,
                 "gram": self.L.UNIT_KIND_GRAM, "dimensionless": self.L.UNIT_KIND_DIMENSIONLESS}
        for ident, parts in SBML_UNITS.items():
            ud = self.m.createUnitDefinition()
            ud.setId(ident)
            for kind, exponent, scale, multiplier in parts:
                u = ud.createUnit()
                u.setKind(kinds[kind])
                u.setExponent(exponent)
                u.setScale(scale)
                u.setMultiplier(multiplier)
        c = self.m.createCompartment()
        c.setId(self.names.add("body", "compartment"))
        c.setName("body (amounts only: every species has hasOnlySubstanceUnits)")
        c.setSpatialDimensions(3)
        c.setSize(1.0)
        c.setUnits("litre")
        c.setConstant(True)
        # C [nM] x M [g/mol] = 1e-9 g/L = 1e-3 ng/mL: a factor 0.001 in a unit of 1000 (dimensionless)
        self.mass_factor = self.names.add("mass_factor", "nM x g/mol -> ng/mL")
        self.parameter(self.mass_factor, 1e-3, "ng_per_mL_per_nM_x_g_per_mol",
                       name="ng/mL per (nM x g/mol): C_mass = C M / 1000")

    def pk(self):
        pk, N = self.model.pk, self.names
        info = pk.parameter_info
        P = {k: N.param(k) for k in info}
        for k, i in info.items():
            unit = _PK_UNITS.get(i.unit)
            if unit is None:
                raise PharmsimError(f"internal: no SBML unit for {i.unit!r} of {k}")
            self.parameter(P[k], np.asarray(pk.parameters[k]).item(), unit, name=k, source=pk.sources.get(k, ""))
        A = {}
        for st in pk.states:
            if st.endswith(".effect"):
                continue
            s = self.m.createSpecies()
            A[st] = N.state(st)
            s.setId(A[st])
            s.setName(st)
            s.setCompartment("body")
            s.setInitialAmount(0.0)
            s.setHasOnlySubstanceUnits(True)
            s.setBoundaryCondition(False)
            s.setConstant(False)
            s.setSubstanceUnits("nmol")
        self.A, self.P = A, P
        k = 0

        def flow(src, dst, formula, label):
            nonlocal k
            k += 1
            self.reaction(f"R{k}", A[src], A[dst] if dst is not None else None, formula, label)

        for c in pk.compounds:
            cid = c.compound
            central = f"{cid}.central"
            V = P[f"{cid}.V_L"]
            for r in c.routes:
                base = f"{cid}.{r.name}"
                if r.n_transit:
                    ktr = f"{r.n_transit} dimensionless / {P[f'{base}.mtt_h']}"
                    for j in range(1, r.n_transit + 1):
                        nxt = f"{base}.transit{j + 1}" if j < r.n_transit else f"{base}.depot"
                        flow(f"{base}.transit{j}", nxt, f"({ktr}) * {A[f'{base}.transit{j}']}",
                             f"transit {base} {j}")
                ka = P[f"{base}.ka_per_h"]
                fpres = []
                for cv in pk.conversions:
                    if cv.parent == cid and cv.presystemic:
                        fpre = P[f"{base}.fpre_{cv.metabolite}"]
                        fpres.append(fpre)
                        flow(f"{base}.depot", f"{cv.metabolite}.central", f"{ka} * {fpre} * {A[f'{base}.depot']}",
                             f"presystemic formation of {cv.metabolite} ({r.name})")
                keep = f"(1 dimensionless - {' - '.join(fpres)}) * " if fpres else ""
                flow(f"{base}.depot", central, f"{ka} * {keep}{A[f'{base}.depot']}", f"absorption {base}")
            cl = P[f"{cid}.CL_L_per_h"]
            fms = []
            for cv in pk.conversions:
                if cv.parent == cid and cv.kinetics == "linear":
                    fm = P[f"{cv.metabolite}.fm"]
                    fms.append(fm)
                    flow(central, f"{cv.metabolite}.central", f"{fm} * {cl} / {V} * {A[central]}",
                         f"formation of {cv.metabolite}")
            rest = f"(1 dimensionless - {' - '.join(fms)}) * " if fms else ""
            flow(central, f"{cid}.eliminated", f"{rest}{cl} / {V} * {A[central]}", f"elimination of {cid}")
            for q, vp, per in (("Q_L_per_h", "Vp_L", "peripheral"), ("Q2_L_per_h", "Vp2_L", "peripheral2")):
                st = f"{cid}.{per}"
                if st in A:
                    Q, Vp = P[f"{cid}.{q}"], P[f"{cid}.{vp}"]
                    flow(central, st, f"{Q} / {V} * {A[central]}", f"distribution {cid} to {per}")
                    flow(st, central, f"{Q} / {Vp} * {A[st]}", f"redistribution {cid} from {per}")
        for src, dst, vmax, km, v in pk.nonlinear_terms():
            s_name, d_name = pk.states[src], pk.states[dst]
            C = f"({A[s_name]} / {P[v]})"
            flow(s_name, d_name, f"{P[vmax]} * {C} / ({P[km]} + {C})", f"saturable {s_name} -> {d_name}")
        # concentrations and effect sites
        for c in pk.compounds:
            cid = c.compound
            V = P[f"{cid}.V_L"]
            Cid = N.conc(cid)
            self.parameter(Cid, 0.0, "nM", constant=False, name=f"plasma concentration of {cid} (total)")
            self.assignment(Cid, f"{A[f'{cid}.central']} / {V}")
            Mid = N.molar_mass(cid)
            self.parameter(Mid, c.molar_mass_g_per_mol, "g_per_mol", name=f"molar mass of {cid}")
            Cm = N.conc_mass(cid)
            self.parameter(Cm, 0.0, "ng_per_mL", constant=False, name=f"plasma concentration of {cid} (mass)")
            self.assignment(Cm, f"{Cid} * {Mid} * {self.mass_factor}")
            if c.effect_site:
                Ce = N.effect(cid)
                self.parameter(Ce, 0.0, "nM", constant=False, name=f"unbound effect-site concentration of {cid}")
                self.rate(Ce, f"{P[f'{cid}.ke0_per_h']} * ({P[f'{cid}.fu']} * {A[f'{cid}.central']} / {V} - {Ce})")

    def pd(self):
        model, N = self.model, self.names
        for r in model.receptors:
            ligs = model.ligands_at(r)
            if not ligs:
                continue
            kinetic = model.binding[r] == "kinetic"
            B = {lig.name: N.occupancy(r, lig.name) for lig in ligs}
            Ce = {lig.name: N.effect(lig.name) for lig in ligs}
            K = {}
            for lig in ligs:
                src = lig.sources
                K[lig.name] = N.ligand("K", r, lig.name)
                self.parameter(K[lig.name], lig.K_nM, "nM", name=f"K of {lig.name} at {r} ({lig.K_kind})",
                               source=src.get("K", ""))
                self.parameter(N.ligand("efficacy", r, lig.name), lig.efficacy, "dimensionless",
                               name=f"intrinsic efficacy (tau in the reference system) of {lig.name} at {r}",
                               source=src.get("efficacy", ""))
                if kinetic:
                    self.parameter(N.ligand("kon", r, lig.name), lig.kon_per_nM_per_h, "per_nM_per_hour",
                                   name=f"kon of {lig.name} at {r}", source=src.get("kinetics", ""))
                    self.parameter(N.ligand("koff", r, lig.name), lig.koff_per_h, "per_hour",
                                   name=f"koff of {lig.name} at {r}", source=src.get("kinetics", ""))
                self.parameter(B[lig.name], 0.0, "dimensionless", constant=False,
                               name=f"fractional occupancy of {r} by {lig.name}")
            if kinetic:
                free = "(1 dimensionless - " + " - ".join(B.values()) + ")"
                for lig in ligs:
                    c = lig.name
                    self.rate(B[c], f"{N.ligand('kon', r, c)} * {Ce[c]} * {free} - {N.ligand('koff', r, c)} * {B[c]}")
            else:
                denom = "(1 dimensionless + " + " + ".join(f"{Ce[c]} / {K[c]}" for c in B) + ")"
                for c in B:
                    self.assignment(B[c], f"({Ce[c]} / {K[c]}) / {denom}")
            for ep in (e for e in model.endpoints if e.receptor == r):
                ids = {w: N.endpoint(w, ep.name) for w in ("gain", "Em", "n", "q", "S", "E")}
                src = "pharmsim data/endpoints.csv (gain, Em, slope n of the operational model)"
                self.parameter(ids["gain"], ep.gain, "dimensionless", name=f"gain of {ep.name}", source=src)
                self.parameter(ids["Em"], ep.Em, "dimensionless", name=f"Em of {ep.name}", source=src)
                self.parameter(ids["n"], ep.n, "dimensionless", name=f"transducer slope of {ep.name}", source=src)
                self.parameter(ids["q"], ep.receptor_fraction, "dimensionless",
                               name=f"fraction of functional receptors of {ep.name}")
                terms = []
                for lig in ligs:
                    t = N.tau(ep.name, lig.name)
                    self.parameter(t, lig.efficacy * ep.gain * ep.receptor_fraction, "dimensionless", constant=False,
                                   name=f"tau of {lig.name} in {ep.name}")
                    self.assignment(t, f"{N.ligand('efficacy', r, lig.name)} * {ids['gain']} * {ids['q']}")
                    terms.append(f"{t} * {B[lig.name]}")
                self.parameter(ids["S"], 0.0, "dimensionless", constant=False, name=f"stimulus of {ep.name}")
                self.assignment(ids["S"], " + ".join(terms))
                self.parameter(ids["E"], 0.0, "dimensionless", constant=False,
                               name=f"response of {ep.name} (fraction of Em)")
                S, n = ids["S"], ids["n"]
                self.assignment(ids["E"], f"{ids['Em']} * {S}^{n} / ({S}^{n} + 1 dimensionless)")

    def _route_params(self, c: str, route: str):
        """(F expression, lag expression or None) of the route's own dosing parameters (``'iv'``: ``<c>.iv.F`` /
        ``<c>.iv.tlag_h`` if the model has them; a bare compartment: none), as :meth:`PKModel.route_F_lag`."""
        pk = self.model.pk
        routes = [r.name for r in pk.compound(c).routes]
        r = "iv" if route in ("iv", "central") else (route if route in routes else None)
        F = self.P.get(f"{c}.{r}.F", "1 dimensionless") if r is not None else "1 dimensionless"
        lag = self.P.get(f"{c}.{r}.tlag_h") if r is not None else None
        return F, lag

    def dosing(self):
        d, pk, N = self.doses, self.model.pk, self.names
        E = d.n_events
        nan = np.full(E, np.nan)
        F_own = np.asarray(getattr(d, "F", nan), dtype=float) if np.size(getattr(d, "F", ())) else nan
        lag_own = np.asarray(getattr(d, "lag_h", nan), dtype=float) if np.size(getattr(d, "lag_h", ())) else nan
        rate = np.asarray(getattr(d, "rate_nmol_per_h", np.zeros(E)), dtype=float)
        rate = rate if rate.size else np.zeros(E)
        groups: dict = {}
        for e in range(E):
            c, route = d.compound[e], d.route[e]
            dur = float(d.duration_h[e])
            if rate[e] > 0:         # an infusion at a given rate lasts F amount / rate (NONMEM RATE > 0)
                f = F_own[e] if np.isfinite(F_own[e]) else float(pk.route_F_lag(c, route)[0])
                dur = f * float(d.amount_nmol[e]) / rate[e]
            key = (float(d.time_h[e]), c, route, dur, float(F_own[e]), float(lag_own[e]))
            groups.setdefault(key, []).append(e)
        self.dose_ids = []
        for g, ((t, c, route, dur, f_own, lag_o), events) in enumerate(groups.items(), start=1):
            state = self.A[pk.states[pk.route_state(c, route)]]
            tid = N.add(f"dose{g}_time_h", f"time of dose group {g}")
            self.parameter(tid, t, "hour", name=f"time of dose {g} ({c}, {route})")
            amts = []
            for j, e in enumerate(events, start=1):
                aid = N.add(f"dose{g}_{j}_amount_nmol" if len(events) > 1 else f"dose{g}_amount_nmol",
                            f"amount of dose {g}")
                self.parameter(aid, float(d.amount_nmol[e]), "nmol", name=f"amount of dose {g} ({c}, {route})")
                amts.append(aid)
            amount = " + ".join(amts) if len(amts) > 1 else amts[0]
            F, lag_p = self._route_params(c, route)
            if np.isfinite(f_own):      # the dose's own bioavailability and lag replace the route's
                F = N.add(f"dose{g}_F", f"bioavailability of dose {g}")
                self.parameter(F, f_own, "dimensionless", name=f"bioavailability of dose {g} (the dose's own)")
            if np.isfinite(lag_o):
                lag_p = N.add(f"dose{g}_lag_h", f"lag time of dose {g}")
                self.parameter(lag_p, lag_o, "hour", name=f"lag time of dose {g} (the dose's own)")
            lag = f"{tid} + {lag_p}" if lag_p else tid
            if dur == 0:
                self.event(f"dose{g}", f"time >= {lag}", [(state, f"{state} + {F} * ({amount})")],
                           f"bolus {c} {route} at {t:g} h")
            else:
                did = N.add(f"dose{g}_duration_h", f"duration of dose {g}")
                self.parameter(did, dur, "hour", name=f"infusion duration of dose {g}")
                rid = N.add(f"dose{g}_rate", f"infusion rate of dose {g}")
                self.parameter(rid, 0.0, "nmol_per_hour", constant=False, name=f"infusion rate of dose {g}")
                self.reaction(f"R_infusion{g}", None, state, rid, f"infusion {c} {route}")
                self.event(f"dose{g}_start", f"time >= {lag}", [(rid, f"{rid} + {F} * ({amount}) / {did}")],
                           f"infusion {c} {route} starts")
                self.event(f"dose{g}_end", f"time >= {lag} + {did}", [(rid, f"{rid} - {F} * ({amount}) / {did}")],
                           f"infusion {c} {route} ends")
            self.dose_ids.append((g, t, c, route, dur))

    def notes(self):
        from ._version import __version__

        model = self.model
        lines = [f"Exported by pharmsim {__version__} (pharmsim.to_sbml): the model of pharmsim.build_model/compose "
                 "with its doses. Equations: pharmsim.pk (PK), pharmsim.model (binding, operational model; Black & "
                 "Leff 1983, doi:10.1098/rspb.1983.0093). Time in h, amounts in nmol, concentrations in nM.",
                 "Identifiers: A_<state> amounts (nmol); C_<compound> plasma concentration (nM), Cmass_ (ng/mL); "
                 "Ce_ unbound effect-site concentration (nM); B_<receptor>_<compound> fractional occupancy; "
                 "E_<endpoint> response (fraction of Em).",
                 "Binding: " + ", ".join(f"{r} {model.binding[r]}" for r in model.receptors) + "."]
        lines += [f"Dose {g}: {c} {route} at {t:g} h" + (f", infusion over {dur:g} h" if dur else "")
                  for g, t, c, route, dur in self.dose_ids]
        lines += list(model.notes)
        lines.append("pharmsim is for teaching and research only, not dosing advice: its numbers come from published "
                     "studies of small groups, animals and cells, and from stated assumptions.")
        body = "".join(f"<p>{escape(x)}</p>" for x in lines)
        self.ok(self.m.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>'), "the model notes")


def to_sbml(model, doses, *, model_id: str = "pharmsim_model", name: str | None = None,
            validate: bool = True) -> str:
    """The model with its doses as SBML Level 3 Version 2 text.

    Parameters
    ----------
    model : Model
        From :func:`pharmsim.model.build_model` or :func:`pharmsim.model.compose`; one subject, no tolerance.
    doses : Doses
        One subject's dosing events; each becomes an event (boluses) or a pair of events and a source reaction
        (infusions), with the route's lag time and bioavailability.
    model_id, name : str
        The SBML model's id (made SId-safe) and name.
    validate : bool
        Run libsbml's consistency checks (SBML L3V2 validation rules, units included) and raise if it finds
        an error; warnings (e.g. numbers without declared units) are allowed.

    Returns
    -------
    str
        The SBML document (XML). Identifiers: :func:`sbml_ids`; equations and conventions: the module
        docstring.

    Raises
    ------
    PharmsimError
        A model with tolerance or per-subject parameters, per-subject doses, doses the model cannot take,
        python-libsbml missing, or a validation error.
    """
    _check(model, doses)
    L = _libsbml()
    w = _Writer(L, model, doses, model_id, name)
    w.units()
    w.pk()
    w.pd()
    w.dosing()
    w.notes()
    if validate:
        doc = w.doc
        doc.setConsistencyChecks(L.LIBSBML_CAT_UNITS_CONSISTENCY, True)
        doc.checkConsistency()
        errors = [doc.getError(i) for i in range(doc.getNumErrors())]
        bad = [e for e in errors if e.getSeverity() >= L.LIBSBML_SEV_ERROR]
        if bad:
            raise PharmsimError("the exported SBML fails libsbml's validation: "
                                + "; ".join(f"{e.getErrorId()}: {e.getShortMessage()} ({e.getMessage().strip()})"
                                            for e in bad[:5]))
    return L.writeSBMLToString(w.doc)


def to_antimony(model, doses, **kw) -> str:
    """The model with its doses as Antimony text: :func:`to_sbml` converted by the ``antimony`` package.

    Keyword arguments go to :func:`to_sbml`. Raises a PharmsimError if ``antimony`` is not installed
    (``pip install "pharmsim[research]"``) or cannot read the SBML.
    """
    text = to_sbml(model, doses, **kw)
    try:
        import antimony
    except ImportError:  # pragma: no cover - depends on the environment
        raise PharmsimError("to_antimony needs the antimony package, an optional extra: pip install "
                            "'pharmsim[research]' (or pip install antimony)") from None
    antimony.clearPreviousLoads()
    if antimony.loadSBMLString(text) < 0:
        raise PharmsimError(f"antimony could not read the exported SBML: {antimony.getLastError()}")
    out = antimony.getAntimonyString(antimony.getMainModuleName())
    if not out:
        raise PharmsimError(f"antimony returned no text: {antimony.getLastError()}")
    return out

