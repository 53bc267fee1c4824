"""One model from dose to response: PK -> effect sites -> binding at MOR and DOR -> endpoints -> tolerance.

:func:`build_model` resolves every number from the library (with its source) into a frozen :class:`Model`;
:func:`simulate` runs it on a time grid for one subject or a whole population at once and returns a
:class:`pharmsim.result.Result` (tidy on request).

The chain, for each subject (population along the first axis of every parameter array):

1. PK (:mod:`pharmsim.pk`): the dosed compounds, MG -> 7-OH-MG formation, effect sites fed by the unbound
   plasma concentration, solved exactly (matrix exponential) at the integration nodes and the binding
   integrator's stage points.
2. Binding (:mod:`pharmsim.binding`) of every ligand present at each receptor, competing for one site:
   kinetic (``dB_i/dt = kon_i Ce_i (1 - sum_j B_j) - koff_i B_i``, 3-stage Radau IIA) or equilibrium
   (Gaddum), chosen per receptor. Ligands without published kinetics bind with an assumed fast ``koff``
   (``koff_fast_default`` rows in ``data/endpoints.csv``) and ``kon = koff / K``.
3. Response of each endpoint (:mod:`pharmsim.receptor`): operational model
   ``E = Em S^n / (S^n + 1)``, ``S = sum_i tau_i B_i``, ``tau_i = efficacy_i * gain * receptor_fraction``
   (Black & Leff 1983, doi:10.1098/rspb.1983.0093): the ligand brings its efficacy, the endpoint its gain.
4. Tolerance (:mod:`pharmsim.tolerance`, optional): desensitisation ``D`` of each receptor's pool
   (``tau -> tau (1 - D)``) and an opponent-process withdrawal read-out.

Not for: reading files (the library does), plotting (:mod:`pharmsim.plots`), drawing populations
(:mod:`pharmsim.population`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from . import binding as _binding
from . import pk as _pk
from .dosing import Doses
from .receptor import Endpoint, response_from_occupancy
from .result import Result, Series
from .tolerance import DEFAULTS as TOLERANCE_DEFAULTS
from .tolerance import ToleranceParams, simulate_tolerance
from .validate import PharmsimError, require_choice, require_finite, require_positive, suggest

__all__ = [
    "ENDPOINT_RECEPTOR",
    "DEFAULT_ENDPOINTS",
    "RECEPTORS",
    "LigandParams",
    "Model",
    "build_model",
    "default_endpoint",
    "simulate",
]

#: Receptor of each named endpoint.
ENDPOINT_RECEPTOR = {"analgesia": "MOR", "respiratory_depression": "MOR", "DOR_signal": "DOR"}
DEFAULT_ENDPOINTS = tuple(ENDPOINT_RECEPTOR)
RECEPTORS = ("MOR", "DOR")
BINDING_MODES = ("kinetic", "equilibrium")
#: Compounds that 7-OH-MG is formed from: dosing MG brings 7-OH-MG into the model.
_METABOLITES = {"MG": ("7-OH-MG",)}


@dataclass(frozen=True)
class LigandParams:
    """One compound at one receptor, every number resolved with its source.

    Attributes
    ----------
    compound, receptor : str
    K_nM : float or (N,) array
        Equilibrium dissociation constant used for binding and the operational model (nM).
    kon_per_nM_per_h, koff_per_h : float
        Kinetic binding rate constants (1/(nM*h), 1/h); ``K = koff/kon`` in kinetic mode.
    efficacy : float or (N,) array
        Intrinsic efficacy: tau in the reference G-protein assay (unit gain); 0 = competitive antagonist.
    arrestin_efficacy : float or None
        Relative beta-arrestin/internalisation efficacy (drives desensitisation, ``mechanism='arrestin'``).
    sources : mapping
        ``{'K': ..., 'kinetics': ..., 'efficacy': ..., 'arrestin_efficacy': ...}`` source of each value.
    """

    compound: str
    receptor: str
    K_nM: object
    kon_per_nM_per_h: float
    koff_per_h: float
    efficacy: object
    arrestin_efficacy: float | None
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Model:
    """A composed PK/PD model (plain, frozen data). Build it with :func:`build_model`."""

    pk: _pk.PKModel
    doses: Doses
    receptors: tuple[str, ...]
    ligands: tuple[LigandParams, ...]
    binding: Mapping[str, str]
    endpoints: tuple[Endpoint, ...]
    tolerance: ToleranceParams | None = None
    max_step_h: float = 0.25
    notes: tuple[str, ...] = ()

    def ligands_at(self, receptor: str) -> tuple[LigandParams, ...]:
        """The ligands bound at ``receptor`` (in model order)."""
        require_choice("receptor", receptor, self.receptors)
        return tuple(lig for lig in self.ligands if lig.receptor == receptor)

    @property
    def compounds(self) -> tuple[str, ...]:
        return tuple(c.compound for c in self.pk.compounds)

    @property
    def n_subjects(self) -> int:
        sizes = [self.pk.n_subjects, self.doses.n_subjects]
        sizes += [np.size(v) for lig in self.ligands for v in (lig.K_nM, lig.efficacy) if np.ndim(v) == 1]
        return max(sizes)

    def with_pk(self, pk_model: _pk.PKModel) -> Model:
        """A copy with another PK model (e.g. per-subject parameters from a population)."""
        return Model(pk_model, self.doses, self.receptors, self.ligands, self.binding, self.endpoints,
                     self.tolerance, self.max_step_h, self.notes)

    def with_doses(self, doses: Doses) -> Model:
        """A copy with other doses (same compounds)."""
        unknown = sorted(set(doses.compound) - set(self.compounds))
        if unknown:
            raise PharmsimError(f"doses name compounds {unknown} that are not in the model {list(self.compounds)}")
        return Model(self.pk, doses, self.receptors, self.ligands, self.binding, self.endpoints,
                     self.tolerance, self.max_step_h, self.notes)

    def parameter_table(self):
        """Tidy table of the PD parameters of every ligand and endpoint, with sources."""
        import pandas as pd

        rows = []
        for lig in self.ligands:
            equilibrium = self.binding[lig.receptor] != "kinetic"
            for name, unit, key in (("K", "nM", "K_nM"), ("efficacy (tau, reference assay)", "-", "efficacy"),
                                    ("kon", "1/(nM*h)", "kon_per_nM_per_h"), ("koff", "1/h", "koff_per_h"),
                                    ("arrestin efficacy", "fraction of DAMGO", "arrestin_efficacy")):
                v = getattr(lig, key)
                if v is None or (equilibrium and key in ("kon_per_nM_per_h", "koff_per_h")):
                    continue  # equilibrium binding has no rate constants: no row rather than a NaN
                src_key = {"K_nM": "K", "kon_per_nM_per_h": "kinetics", "koff_per_h": "kinetics"}.get(key, key)
                source = lig.sources.get(src_key, "")
                if equilibrium and key == "K_nM":
                    source = f"{source}; binding at {lig.receptor}: equilibrium (Gaddum)"
                rows.append({"compound": lig.compound, "receptor": lig.receptor, "parameter": name,
                             "value": float(np.mean(v)), "unit": unit, "source": source})
        for ep in self.endpoints:
            for name in ("gain", "Em", "n"):
                rows.append({"compound": "-", "receptor": ep.receptor, "parameter": f"{ep.name}.{name}",
                             "value": float(getattr(ep, name)), "unit": "-", "source": "data/endpoints.csv"})
        return pd.DataFrame(rows, columns=["compound", "receptor", "parameter", "value", "unit", "source"])


# ------------------------------------------------------------------------------------------------ building
def default_endpoint(name: str, library=None) -> Endpoint:
    """The endpoint ``name`` with its gain, Em and slope from ``data/endpoints.csv``."""
    require_choice("endpoint", name, ENDPOINT_RECEPTOR)
    lib = _library(library)
    vals = {q: lib.value(q, "-", name, unit, pathway="G protein")
            for q, unit in (("gain", "fraction"), ("Em", "fraction"), ("n", "-"))}
    return Endpoint(name=name, receptor=ENDPOINT_RECEPTOR[name], gain=vals["gain"], Em=vals["Em"], n=vals["n"])


def _library(library):
    if library is None:
        from .library import load_library

        return load_library()
    return library


def _src(p) -> str:
    return f"{p.source} ({p.species}, {p.assay}; {p.doi}; {p.status})"


def _has(lib, quantity, compound, target, pathway=None) -> bool:
    try:
        lib.parameter(quantity, compound, target, pathway=pathway)
        return True
    except PharmsimError:
        return False


def _affinity(lib, compound, receptor, source):
    for quantity in ("Ki", "Kd"):
        if _has(lib, quantity, compound, receptor):
            p = lib.parameter(quantity, compound, receptor, source=source if source else None)
            return p.to("nM"), _src(p)
    return None, None


def _functional_affinity(lib, compound, receptor, tau_param):
    """Operational-model K_A from the EC50 measured with the same source as ``tau``: ``K_A = EC50 (1 + tau)``.

    Black & Leff 1983 (doi:10.1098/rspb.1983.0093), n = 1: ``EC50 = K_A/(1 + tau)``. K_A and tau then come from
    one assay system, as the operational model requires; a binding Ki (often measured against an agonist
    radioligand, which labels the high-affinity state) can be far lower than the functional K_A.
    Returns ``(K_A_nM, source)`` or ``(None, None)`` when the library has no such EC50.
    """
    if tau_param is None or tau_param.value <= 0:
        return None, None
    try:
        ec = lib.parameter("EC50", compound, receptor, pathway="G protein", source=tau_param.source)
    except PharmsimError:
        return None, None
    K_A = ec.to("nM") * (1.0 + tau_param.value)
    return K_A, (f"derived: K_A = EC50 x (1 + tau) = {ec.to('nM'):g} nM x (1 + {tau_param.value:g}) from "
                 f"{_src(ec)}")


def _efficacy_param(lib, compound, receptor, source):
    """``(efficacy, source text, Parameter)``: tau in the reference G-protein assay of ``compound`` at ``receptor``."""
    if _has(lib, "tau", compound, receptor, pathway="G protein"):
        p = lib.parameter("tau", compound, receptor, pathway="G protein", source=source)
        return float(p.value), _src(p), p
    raise PharmsimError(
        f"the library holds no G-protein efficacy (tau) for {compound} at {receptor}; add one with "
        f"Library.with_value('tau', {compound!r}, {receptor!r}, value, '-', pathway='G protein', source=...) "
        "or leave the compound out")


def _arrestin(lib, compound, receptor, efficacy):
    if _has(lib, "internalisation_efficacy", compound, receptor, pathway="beta-arrestin"):
        p = lib.parameter("internalisation_efficacy", compound, receptor, pathway="beta-arrestin")
        return float(p.value), _src(p)
    if np.all(np.asarray(efficacy) == 0):
        return 0.0, "antagonist (tau = 0): no signalling, no arrestin-driven desensitisation"
    return None, None


def _kinetics(lib, compound, receptor, K_nM, mw, notes):
    """``(kon, koff, source)``: published kinetics where the library has them, else the fast default."""
    if _has(lib, "koff", compound, receptor):
        koff_p = lib.parameter("koff", compound, receptor)
        koff = koff_p.to("1/h")
        if _has(lib, "kon", compound, receptor):
            kon_p = lib.parameter("kon", compound, receptor)
            kon = float(lib.value("kon", compound, receptor, "1/(nM*h)"))
            return kon, koff, f"kon {_src(kon_p)}; koff {_src(koff_p)}"
        return koff / K_nM, koff, f"koff {_src(koff_p)}; kon = koff/K"
    koff_p = lib.parameter("koff_fast_default", "-", receptor)
    koff = koff_p.to("1/h")
    notes.append(f"{compound} at {receptor}: no published binding kinetics; fast binding assumed "
                 f"(koff {koff:g} /h, kon = koff/K; data/endpoints.csv)")
    return koff / K_nM, koff, f"assumption: koff_fast_default {koff:g} /h (data/endpoints.csv); kon = koff/K"


_SOURCE_QUANTITIES = ("K", "tau")


def _check_sources(sources, lib, receptors) -> dict:
    """``{(quantity, compound id, receptor): source}`` with every key checked; aliases resolved to ids.

    A key that names no quantity, compound or receptor of the model is an error, not silently ignored (a
    misspelt key would otherwise leave the default in place while the user believes another source is used).
    """
    if sources is None:
        return {}
    if not isinstance(sources, Mapping):
        raise PharmsimError(f"sources must be a mapping {{(quantity, compound, receptor): source}}; got "
                            f"{type(sources).__name__}")
    out = {}
    for key, source in sources.items():
        if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, str) for k in key)):
            raise PharmsimError(f"sources keys must be (quantity, compound, receptor) tuples of strings, e.g. "
                                f"('K', 'MG', 'MOR'); got {key!r}")
        quantity, compound, receptor = key
        require_choice(f"sources key {key!r}: quantity", quantity, _SOURCE_QUANTITIES)
        require_choice(f"sources key {key!r}: receptor", receptor, tuple(receptors))
        compound_id = lib.compound(compound).id        # raises for an unknown compound, with suggestions
        if not isinstance(source, str) or not source.strip():
            raise PharmsimError(f"sources[{key!r}] must be a source name (see Library.sources); got {source!r}")
        out[(quantity, compound_id, receptor)] = source
    return out


def build_model(doses: Doses, *, receptors: Sequence[str] = RECEPTORS, binding: str | Mapping[str, str] = "kinetic",
                endpoints: Sequence[str | Endpoint] = DEFAULT_ENDPOINTS, dor_efficacy: str | None = None,
                affinity: str = "functional", tolerance: bool | ToleranceParams = False,
                sources: Mapping[tuple, str] | None = None,
                pk_model: _pk.PKModel | None = None, max_step_h: float = 0.25, library=None) -> Model:
    """Compose the PK/PD model of the compounds in ``doses``, every number from the library.

    Parameters
    ----------
    doses : Doses
        Dosing events (from :func:`pharmsim.dosing.dose`, :func:`~pharmsim.dosing.regimen`,
        :meth:`pharmsim.products.Product.doses`, added with ``+``). Dosing MG brings its metabolite 7-OH-MG.
    receptors : sequence of {'MOR', 'DOR'}
    binding : {'kinetic', 'equilibrium'} or mapping receptor -> mode
    endpoints : sequence of names (``'analgesia'``, ``'respiratory_depression'``, ``'DOR_signal'``) or
        :class:`pharmsim.receptor.Endpoint` objects; only those at the chosen receptors are kept.
    dor_efficacy : str, optional
        Source of MG's and 7-OH-MG's efficacy at DOR. Default: the library's preferred source (Kruegel 2016:
        competitive antagonists, tau = 0). Another source must have a ``tau`` row at DOR.
    affinity : {'functional', 'binding'}
        The K used for binding and the operational model. ``'functional'`` (default): for an agonist, the
        operational K_A derived from the EC50 and tau of the same assay, ``K_A = EC50 (1 + tau)``, so that K_A and
        tau describe one system (Black & Leff 1983); antagonists and ligands without such an EC50 use their
        binding Ki/Kd. ``'binding'``: always the preferred binding Ki/Kd (radioligand assays).
    tolerance : bool or ToleranceParams
        Add desensitisation and the withdrawal read-out (``True``: library defaults).
    sources : mapping, optional
        ``{(quantity, compound, receptor): source}`` to choose a non-default source for a PD value
        (``quantity`` in ``'K'``, ``'tau'``).
    pk_model : PKModel, optional
        Replaces the default human PK model (must contain every dosed compound, with effect sites).
    max_step_h : float
        Largest step of the binding/tolerance integrator (h).
    library : Library, optional

    Returns
    -------
    Model
    """
    if not isinstance(doses, Doses):
        raise PharmsimError(f"doses must be a pharmsim Doses object (dose(), regimen(), Product.doses()); "
                            f"got {type(doses).__name__}")
    if doses.n_events == 0:
        raise PharmsimError("doses must hold at least one dosing event; got none")
    lib = _library(library)
    receptors = tuple(receptors)
    if not receptors:
        raise PharmsimError("receptors must name at least one of 'MOR', 'DOR'; got none")
    for r in receptors:
        require_choice("receptors", r, RECEPTORS)
    modes = {r: binding for r in receptors} if isinstance(binding, str) else dict(binding)
    for r in receptors:
        if r not in modes:
            raise PharmsimError(f"binding has no mode for receptor {r!r}; give one of {BINDING_MODES}")
        require_choice(f"binding[{r!r}]", modes[r], BINDING_MODES)
    max_step_h = float(require_positive("max_step_h", max_step_h, "h"))
    require_choice("affinity", affinity, ("functional", "binding"))
    sources = _check_sources(sources, lib, receptors)
    notes: list[str] = []

    # compounds: dosed ones and their metabolites, in a stable order
    dosed = list(dict.fromkeys(lib.compound(c).id for c in doses.compound))
    compounds = []
    for c in dosed:
        compounds.append(c)
        compounds += [m for m in _METABOLITES.get(c, ()) if m not in compounds]
    compounds = list(dict.fromkeys(compounds))
    unused = sorted({c for _, c, _ in sources} - set(compounds))
    if unused:
        raise PharmsimError(f"sources name compound(s) {unused} that are not in the model {compounds}")
    if pk_model is None:
        for c in compounds:
            if c not in _pk.DEFAULT_COMPOUNDS:
                raise PharmsimError(f"no default human PK model for {c!r}{suggest(c, _pk.DEFAULT_COMPOUNDS)}; "
                                    f"defaults exist for {list(_pk.DEFAULT_COMPOUNDS)} (or pass pk_model=...)")
        order = [c for c in _pk.DEFAULT_COMPOUNDS if c in compounds]
        pk_model = _pk.default_model(tuple(order), library=lib)
    else:
        missing = [c for c in compounds if c not in [cp.compound for cp in pk_model.compounds]]
        if missing:
            raise PharmsimError(f"pk_model lacks the dosed compound(s) {missing}")
    for cp in pk_model.compounds:
        if not cp.effect_site:
            raise PharmsimError(f"compound {cp.compound} of the PK model has no effect site; receptors are driven "
                                "by unbound effect-site concentrations")
    for c, route in zip(doses.compound, doses.route, strict=True):
        pk_model.route_state(lib.compound(c).id, route)  # raises with the known routes

    # ligands at each receptor
    ligands = []
    for r in receptors:
        for cp in pk_model.compounds:
            c = cp.compound
            K, k_src = _affinity(lib, c, r, sources.get(("K", c, r)))
            if K is None:
                notes.append(f"{c} at {r}: the library holds no affinity (Ki/Kd), so {c} is not bound at {r}")
                continue
            tau_source = sources.get(("tau", c, r))
            if r == "DOR" and c in ("MG", "7-OH-MG") and dor_efficacy is not None and tau_source is None:
                tau_source = dor_efficacy
            eff, e_src, tau_p = _efficacy_param(lib, c, r, tau_source)
            if affinity == "functional" and ("K", c, r) not in sources:
                K_f, kf_src = _functional_affinity(lib, c, r, tau_p)
                if K_f is not None:
                    K, k_src = K_f, kf_src
                elif eff > 0:
                    notes.append(f"{c} at {r}: no EC50 from the efficacy source, so the binding Ki is used as K_A")
            arr, a_src = _arrestin(lib, c, r, eff)
            if modes[r] == "kinetic":
                kon, koff, kin_src = _kinetics(lib, c, r, K, cp.molar_mass_g_per_mol, notes)
                K = koff / kon
            else:
                kon, koff, kin_src = np.nan, np.nan, "equilibrium binding (Gaddum)"
            ligands.append(LigandParams(c, r, K, kon, koff, eff, arr,
                                        MappingProxyType({"K": k_src, "kinetics": kin_src, "efficacy": e_src,
                                                          "arrestin_efficacy": a_src or "not in the library"})))
        if r == "DOR":
            for c in ("MG", "7-OH-MG"):
                lig = [x for x in ligands if x.compound == c and x.receptor == "DOR"]
                if lig:
                    kind = "competitive antagonist (tau = 0)" if lig[0].efficacy == 0 else \
                        f"low-efficacy agonist (tau = {lig[0].efficacy:g})"
                    notes.append(f"{c} at DOR modelled as a {kind}; source: {lig[0].sources['efficacy']}")

    eps = []
    for e in endpoints:
        ep = default_endpoint(e, lib) if isinstance(e, str) else e
        if not isinstance(ep, Endpoint):
            raise PharmsimError(f"endpoints must be names or Endpoint objects; got {e!r}")
        if ep.receptor in receptors:
            eps.append(ep)
    if isinstance(tolerance, ToleranceParams):
        tol = tolerance
    elif tolerance is True:
        tol = TOLERANCE_DEFAULTS
    elif tolerance is False or tolerance is None:
        tol = None
    else:
        raise PharmsimError(f"tolerance must be True, False or a ToleranceParams; got {tolerance!r}")
    if tol is not None:
        for ep in eps:
            if ep.n != 1:
                raise PharmsimError(f"the tolerance model needs endpoint slope n = 1; {ep.name} has n = {ep.n}")
        if tol.mechanism == "arrestin":
            lacking = [f"{lig.compound} at {lig.receptor}" for lig in ligands if lig.arrestin_efficacy is None]
            if lacking:
                raise PharmsimError(
                    f"tolerance with mechanism='arrestin' needs an internalisation_efficacy row for {lacking}; add "
                    "one to the library or use ToleranceParams(..., mechanism='gprotein')")
    return Model(pk_model, doses, receptors, tuple(ligands), MappingProxyType(modes), tuple(eps), tol, max_step_h,
                 tuple(dict.fromkeys(notes)))


# ------------------------------------------------------------------------------------------------ solving
def _breakpoints(model: Model) -> np.ndarray:
    """Times where effect-site concentrations lose smoothness: dose times (+ route lags), infusion ends."""
    d = model.doses
    times = [d.time_h, d.time_h + d.duration_h]
    for c, route in set(zip(d.compound, d.route, strict=True)):
        _, lag = model.pk.route_F_lag(c, route)
        sel = np.array([(cc == c and rr == route) for cc, rr in zip(d.compound, d.route, strict=True)])
        for lg in np.unique(np.atleast_1d(lag)):
            times += [d.time_h[sel] + lg, d.time_h[sel] + lg + d.duration_h[sel]]
    return np.unique(np.concatenate(times))


def _subject_slice(v, sl):
    return v[sl] if np.ndim(v) == 1 else v


def _pk_subset(pk_model: _pk.PKModel, sl: slice) -> _pk.PKModel:
    if pk_model.n_subjects == 1:
        return pk_model
    return pk_model.with_parameters({k: _subject_slice(v, sl) for k, v in pk_model.parameters.items()})


def _doses_subset(doses: Doses, sl: slice) -> Doses:
    if doses.n_subjects == 1:
        return doses
    return Doses(doses.time_h, doses.compound, doses.route, doses.amount_nmol[sl], doses.duration_h)


def _pilot(N: int, n_pilot: int = 64) -> np.ndarray:
    """Subjects used to choose the integration nodes (all of a small population; an even spread of a large one)."""
    return np.arange(N) if N <= n_pilot else np.unique(np.linspace(0, N - 1, n_pilot).round().astype(int))


def _take(v, idx):
    return v[idx] if np.ndim(v) == 1 else v


def _adapted_nodes(model: Model, t: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Integration nodes meeting the local-error tolerance for every kinetic receptor (step doubling on a pilot
    set of subjects, :func:`pharmsim.binding.adapt_nodes`); outputs, doses and lags are always nodes."""
    grid = np.concatenate([[0.0], t])
    breaks = _breakpoints(model)
    nodes = _binding.make_nodes(grid, breaks, model.max_step_h)
    pilot = _pilot(model.n_subjects)
    pk_p = model.pk if model.pk.n_subjects == 1 else model.pk.with_parameters(
        {k: _take(v, pilot) for k, v in model.pk.parameters.items()})
    d = model.doses
    doses_p = d if d.n_subjects == 1 else Doses(d.time_h, d.compound, d.route, d.amount_nmol[pilot], d.duration_h)
    for r in model.receptors:
        ligs = model.ligands_at(r)
        if model.binding[r] != "kinetic" or not ligs:
            continue

        def ce_fn(times, ligs=ligs):
            sol = _pk.solve(pk_p, times, doses_p)
            return np.maximum(np.stack([sol.effect_nM(lig.compound) for lig in ligs], axis=-1), 0.0)

        kon = np.array([lig.kon_per_nM_per_h for lig in ligs])
        koff = np.array([lig.koff_per_h for lig in ligs])
        nodes = _binding.adapt_nodes(nodes, ce_fn, kon, koff, breakpoints_h=breaks, max_step_h=model.max_step_h,
                                     rtol=rtol, atol=atol)
    return nodes


def simulate(model: Model, t_h, *, chunk_size: int = 2000, progress=None, rtol: float = 1e-5,
             atol: float = 1e-10) -> Result:
    """Simulate ``model`` on the output times ``t_h`` (h) for all its subjects.

    Parameters
    ----------
    model : Model
    t_h : (T,) array
        Output times (h), sorted, >= 0 (the simulation starts at 0 h with nothing in the body).
    chunk_size : int
        Subjects solved together (bounds memory; results do not depend on it).
    progress : callable, optional
        Called with the number of subjects finished after each chunk (for progress bars).
    rtol, atol : float
        Local error tolerance of the kinetic-binding integrator on occupancies (fractions): the integration
        nodes (at most ``model.max_step_h`` apart, every output time, dose time and lag a node) are refined by
        step doubling on a pilot set of subjects until every step meets ``|err| <= atol + rtol |B|``.

    Returns
    -------
    Result
        Per subject and output time: plasma concentrations (nM, ng/mL), unbound effect-site concentrations,
        occupancy of each ligand at each receptor, each endpoint's response, and with tolerance the
        desensitised fraction, counter-adaptation, net signal and withdrawal.
    """
    if not isinstance(model, Model):
        raise PharmsimError(f"model must be a pharmsim Model (build_model()); got {type(model).__name__}")
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    if t.ndim != 1 or t.size == 0:
        raise PharmsimError(f"t_h must be a non-empty 1-D array of times in h; got shape {t.shape}")
    if np.any(np.diff(t) <= 0):
        raise PharmsimError("t_h must be strictly increasing")
    if t[0] < 0:
        raise PharmsimError(f"t_h must be >= 0 h (simulations start at 0 h); got {t[0]}")
    if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
        raise PharmsimError(f"chunk_size must be a whole number >= 1; got {chunk_size!r}")
    N = model.n_subjects
    rtol = float(require_positive("rtol", rtol))
    atol = float(require_positive("atol", atol))
    if model.tolerance is None and all(model.binding[r] == "equilibrium" for r in model.receptors):
        # nothing to integrate beyond the exact PK: evaluate it at the output times only
        nodes = np.unique(np.concatenate([[0.0], t]))
        times = nodes
        stage_of_node = np.arange(nodes.size)
    else:
        nodes = _adapted_nodes(model, t, rtol, atol)
        times = _binding.stage_times(nodes)
        stage_of_node = 3 * np.arange(nodes.size)
    out_idx = _binding.node_index(nodes, t)

    collected: dict[tuple, list] = {}
    units: dict[tuple, str] = {}

    def put(key, unit, values):
        collected.setdefault(key, []).append(values)
        units[key] = unit

    for start in range(0, N, int(chunk_size)):
        sl = slice(start, min(N, start + int(chunk_size)))
        n = sl.stop - sl.start
        sol = _pk.solve(_pk_subset(model.pk, sl), times, _doses_subset(model.doses, sl))
        for c in model.compounds:
            conc = sol.conc_nM(c)[:, stage_of_node][:, out_idx]
            conc = np.broadcast_to(conc, (n, t.size))
            mw = model.pk.compound(c).molar_mass_g_per_mol
            put(("plasma_conc", c, "-", "-"), "nM", conc)
            put(("plasma_conc_mass", c, "-", "-"), "ng/mL", conc * mw / 1000.0)
            put(("effect_conc_unbound", c, "-", "-"), "nM",
                np.broadcast_to(sol.effect_nM(c)[:, stage_of_node][:, out_idx], (n, t.size)))
        for r in model.receptors:
            ligs = model.ligands_at(r)
            if not ligs:
                continue
            ce = np.stack([np.broadcast_to(sol.effect_nM(lig.compound), (n, times.size)) for lig in ligs], axis=-1)
            ce = np.maximum(ce, 0.0)  # exact PK of non-negative doses; removes -1e-300-scale round-off only
            if model.binding[r] == "kinetic":
                kon = np.array([lig.kon_per_nM_per_h for lig in ligs])
                koff = np.array([lig.koff_per_h for lig in ligs])
                occ = _binding.kinetic_occupancy(nodes, ce, kon, koff)
            else:
                K = np.stack([np.broadcast_to(_subject_slice(lig.K_nM, sl), (n,)) for lig in ligs], axis=-1)
                occ = _binding.equilibrium_occupancy(ce[:, stage_of_node], K[:, None, :])
            occ = np.clip(occ, 0.0, None) if occ.min() > -1e-12 else occ  # round-off only; larger is a bug
            for j, lig in enumerate(ligs):
                put(("occupancy", lig.compound, r, "-"), "fraction", occ[:, out_idx, j])
            for ep in (e for e in model.endpoints if e.receptor == r):
                eff = np.stack([np.broadcast_to(_subject_slice(lig.efficacy, sl), (n,)) for lig in ligs], axis=-1)
                tau = eff * ep.gain * ep.receptor_fraction                           # (n, L)
                if model.tolerance is None:
                    E = response_from_occupancy(occ, tau[:, None, :], Em=ep.Em, n=ep.n)
                    put(("response", "all", r, ep.name), "fraction of Em", E[:, out_idx])
                    continue
                arr = np.array([lig.arrestin_efficacy if lig.arrestin_efficacy is not None else 0.0 for lig in ligs])
                if np.ptp(tau, axis=0).max(initial=0) > 0:
                    raise PharmsimError("tolerance with per-subject efficacies is not supported; give shared taus")
                res = simulate_tolerance(nodes, occ, tau[0], model.tolerance, arrestin_efficacy=arr, Em=ep.Em)
                put(("response", "all", r, ep.name), "fraction of Em", res.response[:, out_idx])
                put(("response_naive", "all", r, ep.name), "fraction of Em", res.response_naive[:, out_idx])
                put(("desensitised", "all", r, ep.name), "fraction", res.desensitised[:, out_idx])
                put(("counter_adaptation", "all", r, ep.name), "fraction of Em", res.counter[:, out_idx])
                put(("net_signal", "all", r, ep.name), "fraction of Em", res.net[:, out_idx])
                put(("withdrawal", "all", r, ep.name), "fraction of Em", res.withdrawal[:, out_idx])
        if progress is not None:
            progress(n)
    series = tuple(
        Series(quantity=q, compound=c, receptor=r, endpoint=e, unit=units[(q, c, r, e)],
               values=np.concatenate(v, axis=0))
        for (q, c, r, e), v in collected.items()
    )
    return Result(t_h=t, series=series, notes=model.notes)
