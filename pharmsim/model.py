"""The problem, as plain frozen data: PK -> effect sites -> binding at each receptor -> endpoints -> tolerance.

A :class:`Model` holds no doses and no population: the PK structure and parameters
(:class:`pharmsim.pk.PKModel`), the ligands bound at each receptor (:class:`pharmsim.receptor.Ligand`, each
with its sources), how each receptor binds (kinetic or equilibrium), the endpoints read at the receptors and
the tolerance model. :func:`compose` checks and assembles those parts; :func:`build_model` takes them from the
catalogue (:mod:`pharmsim.catalog`, the library's rows). The engine, :func:`pharmsim.solve.simulate`, runs a
model with doses on a time grid, for one subject or a population.

The chain, per subject:

1. PK (:mod:`pharmsim.pk`): the compounds, parent -> metabolite formation, effect sites fed by the unbound
   plasma concentration ``dCe/dt = ke0 (fu C - Ce)``.
2. Binding of every ligand at each receptor, competing for one site: kinetic
   (``dB_i/dt = kon_i Ce_i (1 - sum_j B_j) - koff_i B_i``) or equilibrium (Gaddum), chosen per receptor.
3. Response of each endpoint, operational model ``E = Em S^n / (S^n + 1)``, ``S = sum_i tau_i B_i``,
   ``tau_i = efficacy_i * gain * receptor_fraction`` (Black & Leff 1983, doi:10.1098/rspb.1983.0093).
4. Tolerance (optional, :mod:`pharmsim.tolerance`): desensitisation of each receptor's pool and an
   opponent-process withdrawal read-out.

Not for: reading files or choosing values (:mod:`pharmsim.catalog`), solving (:mod:`pharmsim.solve`),
populations (:mod:`pharmsim.population`), plotting (:mod:`pharmsim.plots`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from .catalog import AFFINITY_CHOICES, catalog
from .dosing import Doses
from .pk import IV, PKModel
from .receptor import Endpoint, Ligand
from .tolerance import MECHANISMS, ToleranceParams
from .validate import PharmsimError, require_choice, require_names, require_number, require_sequence, suggest

__all__ = ["BINDING_MODES", "Model", "build_model", "compose", "default_endpoint"]

BINDING_MODES = ("kinetic", "equilibrium")
_SOURCE_QUANTITIES = ("K", "tau")


@dataclass(frozen=True)
class Model:
    """A composed PK/PD model (plain, frozen data, no doses). Build it with :func:`build_model` or
    :func:`compose`; run it with :func:`pharmsim.solve.simulate`.

    Attributes
    ----------
    pk : PKModel
    receptors : tuple of str
    ligands : tuple of Ligand
        Every ligand at every receptor (``Ligand.receptor`` says which).
    binding : mapping receptor -> {'kinetic', 'equilibrium'}
    endpoints : tuple of Endpoint
    tolerance : ToleranceParams or None
    max_step_h : float
        Largest integration step of the kinetic binding and tolerance (h).
    notes : tuple of str
        The modelling choices, stated (which K, which efficacy source, assumptions).
    """

    pk: PKModel
    receptors: tuple[str, ...]
    ligands: tuple[Ligand, ...]
    binding: Mapping[str, str]
    endpoints: tuple[Endpoint, ...]
    tolerance: ToleranceParams | None = None
    max_step_h: float = 0.25
    notes: tuple[str, ...] = ()

    def ligands_at(self, receptor: str) -> tuple[Ligand, ...]:
        """The ligands bound at ``receptor`` (in model order)."""
        require_choice("receptor", receptor, self.receptors)
        return tuple(lig for lig in self.ligands if lig.receptor == receptor)

    def ligand(self, compound: str, receptor: str) -> Ligand:
        for lig in self.ligands_at(receptor):
            if lig.name == compound:
                return lig
        names = [lig.name for lig in self.ligands_at(receptor)]
        raise PharmsimError(f"{compound!r} is not bound at {receptor} in this model; ligands there: {names}"
                            f"{suggest(compound, names)}")

    @property
    def compounds(self) -> tuple[str, ...]:
        return self.pk.compound_ids

    @property
    def n_subjects(self) -> int:
        return self.pk.n_subjects

    def with_pk(self, pk_model: PKModel) -> Model:
        """A copy with another PK model (same compounds, e.g. other parameter values)."""
        return compose(pk_model, self.ligands, self.endpoints, receptors=self.receptors, binding=self.binding,
                       tolerance=self.tolerance, max_step_h=self.max_step_h, notes=self.notes)

    def with_ligand(self, ligand: Ligand) -> Model:
        """A copy in which ``ligand`` replaces the ligand of the same compound at the same receptor."""
        ligs = tuple(ligand if (x.name, x.receptor) == (ligand.name, ligand.receptor) else x for x in self.ligands)
        if ligs == self.ligands and ligand not in self.ligands:
            raise PharmsimError(f"the model has no ligand {ligand.name!r} at {ligand.receptor!r} to replace")
        return replace(self, ligands=ligs)

    def check_doses(self, doses: Doses) -> None:
        """Raise when ``doses`` name a compound or route the model cannot take."""
        if not isinstance(doses, Doses):
            raise PharmsimError(f"doses must be a pharmsim Doses (dose(), regimen(), Product.doses()); got "
                                f"{type(doses).__name__}")
        if doses.n_events and float(np.min(doses.time_h)) < 0:
            i = int(np.argmin(doses.time_h))
            raise PharmsimError(f"doses must be at times >= 0 h (a simulation starts at 0 h with nothing in the "
                                f"body); got {float(doses.time_h[i]):g} h ({doses.compound[i]} {doses.route[i]})")
        for c, route in dict.fromkeys(zip(doses.compound, doses.route, strict=True)):
            if c not in self.compounds:
                raise PharmsimError(f"doses name {c!r}, which is not a compound of the model {list(self.compounds)}"
                                    f"{suggest(c, self.compounds)}; build the model with it")
            self.pk.route_state(c, route)

    def parameter_table(self) -> pd.DataFrame:
        """Tidy table of the PD parameters of every ligand and endpoint, with sources.

        Each ligand shows the K in use and what kind of K it is (in-vivo K_A, functional K_A, binding Ki,
        kinetic KD ...) and, beside it, every other equilibrium constant the library holds for it (rows
        ``'<kind> (not in use)'``: the binding Ki, the in-vitro functional K_A ...), so that they are never
        confused. The tolerance model, when on, is stated with its mechanism and calibration.
        """
        rows = []
        for lig in self.ligands:
            equilibrium = self.binding[lig.receptor] != "kinetic"
            entries = [("K (in use)", lig.K_nM, "nM", lig.sources.get("K", ""), lig.K_kind)]
            shown = {lig.K_kind}
            if lig.Ki_nM is not None and "binding Ki" not in lig.affinities:
                entries.append(("Ki (binding)", lig.Ki_nM, "nM", lig.sources.get("Ki", ""), "binding Ki"))
            for kind, value in lig.affinities.items():
                if kind in shown and abs(value - lig.K_nM) <= 1e-9 * lig.K_nM:
                    continue
                name = "Ki (binding)" if kind == "binding Ki" else f"{kind} (not in use)"
                entries.append((name, value, "nM", lig.sources.get(f"affinity: {kind}", ""), kind))
            entries += [("efficacy (tau, reference assay)", lig.efficacy, "-", lig.sources.get("efficacy", ""), "-"),
                        ("arrestin efficacy", lig.arrestin_efficacy, "fraction of DAMGO",
                         lig.sources.get("arrestin_efficacy", ""), "-")]
            if not equilibrium:
                entries += [("kon", lig.kon_per_nM_per_h, "1/(nM*h)", lig.sources.get("kinetics", ""), "-"),
                            ("koff", lig.koff_per_h, "1/h", lig.sources.get("kinetics", ""), "-")]
            for name, value, unit, source, kind in entries:
                if value is None:
                    continue
                if name == "K (in use)" and equilibrium:
                    source = f"{source}; binding at {lig.receptor}: equilibrium (Gaddum)"
                rows.append({"compound": lig.name, "receptor": lig.receptor, "parameter": name, "value": float(value),
                             "unit": unit, "K_kind": kind, "source": source})
        if self.tolerance is not None:
            t = self.tolerance
            for name, value, unit in (("k_des", t.k_des_per_h, "1/h"), ("k_rec", t.k_rec_per_h, "1/h"),
                                      ("k_adapt", t.k_adapt_per_h, "1/h"), ("adapt_gain", t.adapt_gain, "fraction")):
                rows.append({"compound": "-", "receptor": ", ".join(t.receptors or self.receptors),
                             "parameter": f"tolerance.{name}", "value": float(value), "unit": unit,
                             "K_kind": "-", "source": t.label})
        for ep in self.endpoints:
            for name in ("gain", "Em", "n"):
                rows.append({"compound": "-", "receptor": ep.receptor, "parameter": f"{ep.name}.{name}",
                             "value": float(getattr(ep, name)), "unit": "-", "K_kind": "-",
                             "source": "data/endpoints.csv"})
        return pd.DataFrame(rows, columns=["compound", "receptor", "parameter", "value", "unit", "K_kind", "source"])


def _as_tolerance(tolerance) -> ToleranceParams | None:
    """``ToleranceParams`` as given; False/None: off. ``True`` is refused: the mechanism must be named."""
    if isinstance(tolerance, ToleranceParams):
        return tolerance
    if tolerance is False or tolerance is None:
        return None
    if tolerance is True or isinstance(tolerance, str):
        raise PharmsimError(
            f"tolerance must name its mechanism - one of {', '.join(map(repr, MECHANISMS))} (build_model(..., "
            "tolerance='gprotein')), or a ToleranceParams (catalog().tolerance('gprotein')), or False; got "
            f"{tolerance!r}. No mechanism is a default: which stimulus drives desensitisation decides whether the "
            "partial agonists develop tolerance")
    raise PharmsimError(f"tolerance must be False, a mechanism ({', '.join(map(repr, MECHANISMS))}) or a "
                        f"ToleranceParams; got {tolerance!r}")


def compose(pk: PKModel, ligands: Sequence[Ligand], endpoints: Sequence[Endpoint], *,
            receptors: Sequence[str] | None = None, binding: str | Mapping[str, str] = "kinetic",
            tolerance: bool | ToleranceParams | None = None, max_step_h: float = 0.25,
            notes: Sequence[str] = ()) -> Model:
    """Assemble a :class:`Model` from its parts, checking that they fit together.

    Parameters
    ----------
    pk : PKModel
        Every ligand's compound must be a compound of ``pk`` with an effect site.
    ligands : sequence of Ligand
        Each with its ``receptor``; for kinetic binding each needs ``kon_per_nM_per_h`` and ``koff_per_h``.
    endpoints : sequence of Endpoint
        Endpoints at receptors of the model.
    receptors : sequence of str, optional
        Default: the receptors of the ligands and endpoints, in order of appearance.
    binding : {'kinetic', 'equilibrium'} or mapping receptor -> mode
    tolerance : ToleranceParams or False/None, optional
        The tolerance model with its named mechanism (e.g. :meth:`pharmsim.catalog.Catalog.tolerance`);
        ``True`` is refused (no mechanism is a default).
    max_step_h : float
        Largest integration step (h) of kinetic binding and tolerance.
    notes : sequence of str
        Modelling choices to carry (shown in reports).
    """
    if not isinstance(pk, PKModel):
        raise PharmsimError(f"pk must be a pharmsim PKModel; got {type(pk).__name__}")
    ligands = require_sequence("ligands", ligands, Ligand, "a pharmsim Ligand")
    endpoints = require_sequence("endpoints", endpoints, Endpoint, "a pharmsim Endpoint")
    for x in ligands:
        if x.receptor is None:
            raise PharmsimError(f"ligands must be pharmsim Ligand objects with a receptor; got {x!r}")
    for e in endpoints:
        if not isinstance(e, Endpoint):
            raise PharmsimError(f"endpoints must be pharmsim Endpoint objects; got {e!r}")
    if receptors is None:
        receptors = tuple(dict.fromkeys([x.receptor for x in ligands] + [e.receptor for e in endpoints]))
    receptors = require_names("receptors", receptors)
    if not receptors:
        raise PharmsimError("a model needs at least one receptor (give ligands, endpoints or receptors=)")
    for x in ligands:
        require_choice(f"receptor of ligand {x.name!r}", x.receptor, receptors)
    endpoints = tuple(e for e in endpoints if e.receptor in receptors)
    seen = set()
    for x in ligands:
        if (x.name, x.receptor) in seen:
            raise PharmsimError(f"ligand {x.name!r} appears twice at {x.receptor}; one Ligand per compound and "
                                "receptor")
        seen.add((x.name, x.receptor))
    if not isinstance(binding, (str, Mapping)):
        raise PharmsimError(f"binding must be one of {BINDING_MODES} or a mapping receptor -> mode; got "
                            f"{type(binding).__name__} {binding!r}"[:200])
    modes = {r: binding for r in receptors} if isinstance(binding, str) else dict(binding)
    for r in receptors:
        if r not in modes:
            raise PharmsimError(f"binding has no mode for receptor {r!r}; give one of {BINDING_MODES}")
        require_choice(f"binding[{r!r}]", modes[r], BINDING_MODES)
    unknown = sorted(set(modes) - set(receptors))
    if unknown:
        raise PharmsimError(f"binding names receptor(s) {unknown} that are not in the model {list(receptors)}")
    effect = pk.effect_states()
    for x in ligands:
        if x.name not in pk.compound_ids:
            raise PharmsimError(f"ligand {x.name!r} is not a compound of the PK model {list(pk.compound_ids)}"
                                f"{suggest(x.name, pk.compound_ids)}")
        if x.name not in effect:
            raise PharmsimError(f"compound {x.name} of the PK model has no effect site; receptors are driven by "
                                "unbound effect-site concentrations (CompoundPK(..., effect_site=True))")
        if modes[x.receptor] == "kinetic" and not x.has_kinetics:
            raise PharmsimError(f"ligand {x.name!r} at {x.receptor} has no kon/koff but binding there is kinetic; use "
                                "Ligand.with_kinetics(koff_per_h, kon) or binding='equilibrium'")
    tol = _as_tolerance(tolerance)
    if tol is not None:
        for ep in endpoints:
            if ep.n != 1:
                raise PharmsimError(f"the tolerance model needs endpoint slope n = 1; {ep.name} has n = {ep.n}")
        if tol.mechanism in ("arrestin", "both"):
            lacking = [f"{x.name} at {x.receptor}" for x in ligands
                       if x.arrestin_efficacy is None and tol.applies_to(x.receptor)]
            if lacking:
                raise PharmsimError(
                    f"tolerance with mechanism={tol.mechanism!r} needs an arrestin (internalisation) efficacy for "
                    f"{lacking}; add one to the library or use ToleranceParams(..., mechanism='gprotein')")
    max_step_h = require_number("max_step_h", max_step_h, "h", minimum=0, strict=True)
    return Model(pk, receptors, ligands, MappingProxyType(modes), endpoints, tol, max_step_h,
                 tuple(dict.fromkeys(notes)))


# ------------------------------------------------------------------------------------------------ building
def default_endpoint(name: str, library=None) -> Endpoint:
    """The endpoint ``name`` with its gain, Em and slope from ``data/endpoints.csv``."""
    return catalog(library).endpoint(name)


def _check_sources(sources, cat, receptors) -> dict:
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
        compound_id = cat.compound_id(compound)        # raises for an unknown compound, with suggestions
        if not isinstance(source, str) or not source.strip():
            raise PharmsimError(f"sources[{key!r}] must be a source name (see Library.sources); got {source!r}")
        out[(quantity, compound_id, receptor)] = source
    return out


def _compounds_and_routes(compounds, cat) -> tuple[list[str], dict | None]:
    """Compound ids (and, from Doses, the routes dosed) of ``compounds``."""
    if isinstance(compounds, Doses):
        ids = list(dict.fromkeys(cat.compound_id(c) for c in compounds.compound))
        routes: dict[str, list] = {c: [] for c in ids}
        for c, r in zip(compounds.compound, compounds.route, strict=True):
            cid = cat.compound_id(c)
            if r != IV and r not in routes[cid]:
                routes[cid].append(r)
        return ids, routes
    if isinstance(compounds, str):
        compounds = [compounds]
    try:
        ids = list(dict.fromkeys(cat.compound_id(c) for c in compounds))
    except TypeError:
        raise PharmsimError(f"compounds must be compound names or a Doses; got {compounds!r}") from None
    if not ids:
        raise PharmsimError("compounds must name at least one compound")
    return ids, None


def build_model(compounds, *, receptors: Sequence[str] | None = None,
                binding: str | Mapping[str, str] = "kinetic", endpoints: Sequence[str | Endpoint] | None = None,
                dor_efficacy: str | None = None, affinity: str = "functional",
                tolerance: str | ToleranceParams | bool | None = False,
                sources: Mapping[tuple, str] | None = None, pk_model: PKModel | None = None,
                routes: Mapping[str, Sequence[str]] | None = None, max_step_h: float = 0.25, library=None) -> Model:
    """Compose the PK/PD model of ``compounds`` (and the metabolites formed from them), every number from the
    library: ``catalog`` + :func:`compose`.

    Parameters
    ----------
    compounds : sequence of str, or Doses
        The compounds to model. From a :class:`~pharmsim.dosing.Doses` the compounds and the routes dosed
        are read (the model holds no doses; pass them to :func:`pharmsim.solve.simulate`). Metabolites are
        added from the data (dosing MG brings 7-OH-MG).
    receptors : sequence of str, optional
        Default: every receptor an endpoint of the library reads (MOR, DOR).
    binding : {'kinetic', 'equilibrium'} or mapping receptor -> mode
    endpoints : sequence of names or Endpoint objects, optional
        Default: every endpoint at the chosen receptors; only those at the chosen receptors are kept.
    dor_efficacy : str, optional
        A source whose G-protein ``tau`` rows at DOR replace the preferred ones for every ligand it has a row
        for (default: the library's preferred source; for MG and 7-OH-MG Kruegel 2016, competitive
        antagonists, tau = 0).
    affinity : {'functional', 'in vitro', 'binding'}
        The K used for binding and the operational model (:meth:`pharmsim.catalog.Catalog.ligand`).
        ``'functional'`` (default): the in-vivo K_A anchored to a human C50 where the library has one (fentanyl),
        else the operational K_A of the efficacy's assay, ``K_A = EC50 (1 + tau)``, else a K_B or Ki;
        ``'in vitro'``: never an in-vivo anchor; ``'binding'``: the binding Ki. Every other kind is kept beside the
        one in use in :meth:`Model.parameter_table` and ``Ligand.affinities``.
    tolerance : {'gprotein', 'arrestin', 'both'}, ToleranceParams or False
        Off (``False``, the default), or on with a **named** mechanism, calibrated on published data
        (:meth:`pharmsim.catalog.Catalog.tolerance`), or your own :class:`~pharmsim.tolerance.ToleranceParams`.
        ``True`` is refused: no mechanism is a silent default. The mechanism and its calibration are in the
        model's notes.
    sources : mapping, optional
        ``{(quantity, compound, receptor): source}`` with quantity ``'K'`` or ``'tau'``. A source that reports both
        an EC50 and a tau for the compound is used for both, so K_A and tau stay from one assay (choosing
        Kruegel 2016 for MG gives Kruegel's EC50 339 nM and Emax 34 % in a unit-gain system).
    pk_model : PKModel, optional
        Your own PK model instead of the library's (it must contain every compound).
    routes : mapping compound -> routes, optional
        Extravascular routes to build (default: those in ``compounds`` when it is a Doses, else all).
    max_step_h : float
    library : Library or Catalog, optional

    Returns
    -------
    Model
    """
    cat = catalog(library)
    ids, dosed_routes = _compounds_and_routes(compounds, cat)
    receptors = cat.receptors() if receptors is None else require_names("receptors", receptors, allow_empty=False)
    for r in receptors:
        require_choice("receptors", r, cat.receptors())
    require_choice("affinity", affinity, AFFINITY_CHOICES)
    sources = _check_sources(sources, cat, receptors)
    if not isinstance(binding, (str, Mapping)):
        raise PharmsimError(f"binding must be one of {BINDING_MODES} or a mapping receptor -> mode; got "
                            f"{type(binding).__name__} {binding!r}"[:200])
    modes = {r: binding for r in receptors} if isinstance(binding, str) else dict(binding)
    for r in receptors:
        if r not in modes:
            raise PharmsimError(f"binding has no mode for receptor {r!r}; give one of {BINDING_MODES}")
        require_choice(f"binding[{r!r}]", modes[r], BINDING_MODES)
    if dor_efficacy is not None and dor_efficacy not in cat.efficacy_sources("DOR"):
        raise PharmsimError(f"dor_efficacy must be a source with a DOR tau row: "
                            f"{', '.join(map(repr, cat.efficacy_sources('DOR')))}; got {dor_efficacy!r}"
                            f"{suggest(str(dor_efficacy), cat.efficacy_sources('DOR'))}")
    notes: list[str] = []
    if pk_model is None:
        if routes is None and dosed_routes is not None:
            # from doses: the routes dosed, and none for a metabolite that is only formed in the body
            routes = {c: dosed_routes.get(c, []) for c in cat.with_metabolites(ids)}
        pk_model = cat.pk_model(ids, routes=routes)
    else:
        if not isinstance(pk_model, PKModel):
            raise PharmsimError(f"pk_model must be a pharmsim PKModel; got {type(pk_model).__name__}")
        missing = [c for c in ids if c not in pk_model.compound_ids]
        if missing:
            raise PharmsimError(f"pk_model lacks the compound(s) {missing}")
    unused = sorted({c for _, c, _ in sources} - set(pk_model.compound_ids))
    if unused:
        raise PharmsimError(f"sources name compound(s) {unused} that are not in the model "
                            f"{list(pk_model.compound_ids)}")
    ligands = []
    for r in receptors:
        for c in pk_model.compound_ids:
            tau_source = sources.get(("tau", c, r))
            if r == "DOR" and dor_efficacy is not None and tau_source is None and \
                    cat.library.has("tau", c, r, pathway="G protein", source=dor_efficacy):
                tau_source = dor_efficacy
            lig = cat.ligand(c, r, affinity=affinity, K_source=sources.get(("K", c, r)), tau_source=tau_source,
                             kinetic=modes[r] == "kinetic", notes=notes)
            if lig is None:
                notes.append(f"{c} at {r}: the library holds no affinity (Ki/Kd), so {c} is not bound at {r}")
                continue
            ligands.append(lig)
            if lig.efficacy == 0:
                notes.append(f"{c} at {r} modelled as a competitive antagonist (tau = 0); source: "
                             f"{lig.sources['efficacy']}")
            elif r == "DOR":
                notes.append(f"{c} at {r} modelled as an agonist (tau = {lig.efficacy:g}); source: "
                             f"{lig.sources['efficacy']}")
    eps = []
    names = cat.endpoint_names() if endpoints is None else \
        ((endpoints,) if isinstance(endpoints, (str, Endpoint)) else endpoints)
    if isinstance(names, Mapping) or not isinstance(names, Iterable):
        raise PharmsimError(f"endpoints must be names or Endpoint objects; got {type(names).__name__} {names!r}"[:200])
    for e in names:
        ep = cat.endpoint(e) if isinstance(e, str) else e
        if not isinstance(ep, Endpoint):
            raise PharmsimError(f"endpoints must be names or Endpoint objects; got {e!r}")
        if ep.receptor in receptors:
            eps.append(ep)
            if isinstance(e, str):
                gain_rows = cat.gain_sources(e)
                notes.append(f"{e} gain {ep.gain:g} ({gain_rows[0]})" +
                             (f"; other gain rows: {', '.join(gain_rows[1:])} (Catalog.with_gain)"
                              if len(gain_rows) > 1 else ""))
    if isinstance(tolerance, str):
        tolerance = cat.tolerance(tolerance)
    tol = _as_tolerance(tolerance)
    if tol is not None:
        notes.append(tol.label)
    return compose(pk_model, ligands, eps, receptors=receptors, binding=modes, tolerance=tol,
                   max_step_h=max_step_h, notes=notes)
