"""The study: arms x population x time grid, run with one call, and the tables that describe the run.

A :class:`Study` is plain frozen data: its :class:`Arm` objects (doses compared side by side on the same
virtual subjects), the population (:class:`PopulationSpec`: size, seed, variability, covariates), the model
options (:class:`ModelOptions`, passed to :func:`pharmsim.model.build_model`), the output grid and the
library the numbers come from. :func:`run_study` builds one model per arm, draws the population once (every
arm gets the same random effects; an arm may change the covariates), calls the engine
(:func:`pharmsim.solve.simulate`) and returns a :class:`StudyResult` with the tables every front end writes:
summary, doses, NCA, endpoints, parameters, library provenance and population.

The command line (``pharmsim run``, ``pharmsim demo``), the comparison with the full agonist, the titration
adapter, the notebooks, the web app and the tests all call :func:`run_study`; a scenario file only becomes a
:class:`Study` (:mod:`pharmsim.scenario`).

Not for: reading TOML (:mod:`pharmsim.scenario`), drawing (:mod:`pharmsim.plots`) or writing files
(:mod:`pharmsim.cli`). Teaching and research only, not dosing advice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from .catalog import catalog
from .dosing import Doses
from .library import Library
from .model import Model, build_model
from .pk import parameter_table as pk_parameter_table
from .population import _MAX_SUBJECTS, Covariates, Population
from .result import Result
from .schedule import CovariateChange, ParameterSchedule
from .schedule import _as_change as _as_covariate_change
from .solve import Outputs, simulate
from .validate import (
    PharmsimError,
    require_count,
    require_finite,
    require_instance,
    require_number,
    require_sequence,
)

__all__ = ["Arm", "ModelOptions", "PopulationSpec", "Study", "StudyResult", "run_study", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["arm", "time_h", "quantity", "compound", "receptor", "endpoint", "unit", "median", "p05", "p95",
                   "n_subjects"]
_FEWER_SUBJECTS = "simulate fewer subjects, or several populations one after another"


@dataclass(frozen=True)
class Arm:
    """One set of doses, simulated on the study's population.

    Parameters
    ----------
    name : str
    doses : Doses
    description : str
    dose_labels : tuple of str
        Plain-language descriptions of the doses ("2 g leaf powder at 0 h"), for reports.
    covariates : Covariates, optional
        Replace the study population's covariates for this arm (same random effects).
    dor_efficacy : str, optional
        Replace the study's DOR efficacy source for this arm.
    covariate_changes : sequence of CovariateChange, optional
        Replace the population's covariate changes for this arm (``()``: none; e.g. a CYP3A4 inhibitor started
        on day 5 in one arm only).
    """

    name: str
    doses: Doses
    description: str = ""
    dose_labels: tuple[str, ...] = ()
    covariates: Covariates | None = None
    dor_efficacy: str | None = None
    covariate_changes: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise PharmsimError(f"Arm.name must be a non-empty string; got {self.name!r}")
        if not isinstance(self.doses, Doses) or self.doses.n_events == 0:
            got = "Doses with no events" if isinstance(self.doses, Doses) else type(self.doses).__name__
            raise PharmsimError(f"arm {self.name!r} needs doses (a non-empty pharmsim Doses); got {got}")
        object.__setattr__(self, "dose_labels", tuple(self.dose_labels))
        if self.covariate_changes is not None:
            object.__setattr__(self, "covariate_changes", _changes(f"arm {self.name!r} covariate_changes",
                                                                   self.covariate_changes))


def _changes(name: str, value) -> tuple[CovariateChange, ...]:
    if isinstance(value, (CovariateChange, Mapping)):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise PharmsimError(f"{name} must be a sequence of CovariateChange; got {type(value).__name__}")
    out = tuple(_as_covariate_change(i, c) for i, c in enumerate(value))
    ParameterSchedule.from_changes(out)                 # sorted, one per time
    return out


@dataclass(frozen=True)
class PopulationSpec:
    """Population size, seed, inter-individual variability (SD of log per PK parameter) and covariates.

    ``n = 1`` with no variability and reference covariates is one typical adult (no population is drawn).
    ``omega = "library"`` takes the published variability of every PK parameter the study's models have
    (:meth:`pharmsim.catalog.Catalog.default_omega`, data/variability.csv, each value with its source; see
    :meth:`Study.variability`); a mapping gives your own.

    Covariates may change during the run (``covariate_changes``, :class:`pharmsim.schedule.CovariateChange`,
    last value carried forward) and random effects between occasions (``iov``: SD of log of kappa per PK
    parameter; ``occasions_h``: when each occasion after the first starts); :mod:`pharmsim.schedule`.
    """

    n: int = 1
    seed: int = 0
    omega: Mapping[str, float] = field(default_factory=dict)
    correlation: Mapping[tuple[str, str], float] = field(default_factory=dict)
    covariates: Covariates = field(default_factory=Covariates)
    covariate_changes: tuple = ()
    iov: Mapping[str, float] = field(default_factory=dict)
    occasions_h: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "n", require_count("population n (number of subjects)", self.n, minimum=1,
                                                    maximum=_MAX_SUBJECTS, hint=_FEWER_SUBJECTS))
        object.__setattr__(self, "seed", require_count("population seed", self.seed, minimum=0))
        if isinstance(self.omega, str):
            if self.omega != "library":
                raise PharmsimError(f"population omega must be a mapping {{parameter: SD of log}} or 'library' "
                                    f"(the published variability, data/variability.csv); got {self.omega!r}")
            if self.correlation:
                raise PharmsimError("population correlation needs an explicit omega mapping, not 'library' "
                                    "(the library holds no correlations)")
        for name in (("correlation",) if isinstance(self.omega, str) else ("omega", "correlation")):
            if not isinstance(getattr(self, name), Mapping):
                raise PharmsimError(f"population {name} must be a mapping; got {type(getattr(self, name)).__name__}")
        if not isinstance(self.omega, str):
            object.__setattr__(self, "omega", MappingProxyType(dict(self.omega)))
        object.__setattr__(self, "correlation", MappingProxyType(dict(self.correlation)))
        object.__setattr__(self, "covariate_changes", _changes("population covariate_changes",
                                                               self.covariate_changes))
        if not isinstance(self.iov, Mapping):
            raise PharmsimError(f"population iov must be a mapping {{parameter: SD of log}}; got "
                                f"{type(self.iov).__name__}")
        for k, v in self.iov.items():
            require_number(f"population iov[{k!r}] (SD of log)", v, minimum=0)
        object.__setattr__(self, "iov", MappingProxyType(dict(self.iov)))
        occ = np.atleast_1d(require_finite("population occasions_h", self.occasions_h, "h")).astype(float)
        ParameterSchedule.from_changes((), occasions_h=occ)        # > 0, strictly increasing
        object.__setattr__(self, "occasions_h", tuple(float(x) for x in occ))

    def schedule(self, covariate_changes=None) -> ParameterSchedule | None:
        """The parameter schedule of the covariate changes (default this spec's) and occasions; None without."""
        changes = self.covariate_changes if covariate_changes is None else covariate_changes
        if not changes and not self.occasions_h:
            return None
        return ParameterSchedule.from_changes(changes, occasions_h=self.occasions_h)

    def draw(self, covariates: Covariates | None = None, library=None,
             covariate_changes=None) -> Population | None:
        """The population (same seed, same random effects) with ``covariates`` and ``covariate_changes``
        (default this spec's)."""
        cov = self.covariates if covariates is None else covariates
        if isinstance(self.omega, str):
            raise PharmsimError("omega = 'library' is resolved against the study's models: use Study.populations()")
        sched = self.schedule(covariate_changes)
        if self.n == 1 and not self.omega and cov == Covariates() and sched is None and not self.iov:
            return None
        corr = {f"{a},{b}": r for (a, b), r in self.correlation.items()} or None
        lib = catalog(library).library
        return Population(n=self.n, omega=dict(self.omega), correlation=corr, covariates=cov, rng=self.seed,
                          library=lib, schedule=sched, iov=dict(self.iov))


@dataclass(frozen=True)
class ModelOptions:
    """The :func:`pharmsim.model.build_model` choices shared by the arms.

    ``tolerance`` is ``False`` (off) or names its mechanism (``'gprotein'``, ``'arrestin'``, ``'both'``, or a
    :class:`~pharmsim.tolerance.ToleranceParams`); ``True`` is refused - no mechanism is a silent default.
    """

    receptors: tuple[str, ...] | None = None
    endpoints: tuple[str, ...] | None = None
    binding: str | Mapping[str, str] = "kinetic"
    affinity: str = "functional"
    dor_efficacy: str | None = None
    tolerance: object = False
    sources: Mapping[tuple, str] = field(default_factory=dict)
    max_step_h: float = 0.25

    def __post_init__(self):
        object.__setattr__(self, "max_step_h", require_number("max_step_h", self.max_step_h, "h", minimum=0,
                                                              strict=True))
        if not isinstance(self.binding, (str, Mapping)):
            raise PharmsimError(f"binding must be 'kinetic', 'equilibrium' or a mapping receptor -> mode; got "
                                f"{type(self.binding).__name__} {self.binding!r}"[:200])
        if not isinstance(self.binding, str):
            object.__setattr__(self, "binding", MappingProxyType(dict(self.binding)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        from .model import _as_tolerance  # noqa: PLC0415
        from .tolerance import MECHANISMS  # noqa: PLC0415

        if isinstance(self.tolerance, str):
            from .validate import require_choice  # noqa: PLC0415

            require_choice("tolerance (mechanism)", self.tolerance, MECHANISMS)
        else:
            _as_tolerance(self.tolerance)          # False/None, a ToleranceParams; True is refused

    @property
    def tolerance_label(self) -> str:
        """``'off'`` or the named mechanism, for reports and figure titles."""
        t = self.tolerance
        if t is False or t is None:
            return "off"
        return f"mechanism {t if isinstance(t, str) else t.mechanism!r}"

    def build(self, doses: Doses, library, dor_efficacy: str | None = None) -> Model:
        dor = self.dor_efficacy if dor_efficacy is None else dor_efficacy
        return build_model(doses, receptors=self.receptors, endpoints=self.endpoints, binding=dict(self.binding)
                           if not isinstance(self.binding, str) else self.binding, affinity=self.affinity,
                           dor_efficacy=dor, tolerance=self.tolerance, sources=dict(self.sources),
                           max_step_h=self.max_step_h, library=library)


@dataclass(frozen=True)
class Study:
    """Arms x population x time grid, with the model options and the library (plain frozen data).

    Parameters
    ----------
    arms : sequence of Arm
    t_h : (T,) array
        Output times (h), strictly increasing, >= 0.
    population : PopulationSpec
    model : ModelOptions
    library : Library, optional
        Default: the shipped data. A scenario's what-if values and source choices are already in it.
    outputs : Outputs, optional
        What the engine keeps (default everything).
    name, title, description : str
    library_changes : tuple of str
        The what-if values and source choices applied to the library, stated for the report.
    figures, report, per_subject_csv : bool
        What ``pharmsim run`` writes besides the tables.
    text : str
        The scenario file's text (kept for the report and the output folder).
    """

    arms: tuple[Arm, ...]
    t_h: np.ndarray
    population: PopulationSpec = field(default_factory=PopulationSpec)
    model: ModelOptions = field(default_factory=ModelOptions)
    library: Library | None = None
    outputs: Outputs | None = None
    name: str = "study"
    title: str = ""
    description: str = ""
    library_changes: tuple[str, ...] = ()
    figures: bool = True
    report: bool = True
    per_subject_csv: bool = False
    text: str = ""

    def __post_init__(self):
        arms = require_sequence("Study.arms", self.arms, Arm, "a pharmsim Arm")
        if not arms:
            raise PharmsimError("Study.arms must hold at least one Arm; got none")
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise PharmsimError(f"arm names must be unique; got {names}")
        object.__setattr__(self, "arms", arms)
        t = np.atleast_1d(require_finite("t_h", self.t_h, "h"))
        if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0) or t[0] < 0:
            raise PharmsimError("Study.t_h must be a non-empty, strictly increasing 1-D array of times >= 0 h")
        t.setflags(write=False)
        object.__setattr__(self, "t_h", t)
        object.__setattr__(self, "library", catalog(self.library).library)
        object.__setattr__(self, "library_changes", tuple(self.library_changes))
        for name, cls in (("population", PopulationSpec), ("model", ModelOptions)):
            require_instance(f"Study.{name}", getattr(self, name), cls, f"a pharmsim {cls.__name__}")
        if self.outputs is not None:
            require_instance("Study.outputs", self.outputs, Outputs, "a pharmsim Outputs (or None: everything)")

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        from .validate import suggest

        raise PharmsimError(f"no arm {name!r}; arms: {[a.name for a in self.arms]}{suggest(name, self.arm_names)}")

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms)

    def with_arms(self, arms: Sequence[Arm]) -> Study:
        return replace(self, arms=tuple(arms))

    def models(self) -> dict[str, Model]:
        """One model per arm (checked; nothing is solved)."""
        return {a.name: self.model.build(a.doses, self.library, a.dor_efficacy) for a in self.arms}

    def variability(self, models: Mapping[str, Model] | None = None) -> tuple[dict[str, float], dict[str, str]]:
        """``({parameter: omega}, {parameter: source})`` the population uses: the given mapping, or with
        ``omega = 'library'`` the published values for every PK parameter of any arm's model."""
        if not isinstance(self.population.omega, str):
            return dict(self.population.omega), {k: "given" for k in self.population.omega}
        models = self.models() if models is None else models
        info = {k: v for m in models.values() for k, v in m.pk.parameter_info.items()}
        return catalog(self.library).default_omega(info)

    def populations(self, models: Mapping[str, Model] | None = None) -> dict[str, Population | None]:
        """The population of each arm: the same draws, with the arm's covariates where it has them."""
        spec = self.population
        if isinstance(spec.omega, str):
            spec = replace(spec, omega=self.variability(models)[0])
        return {a.name: spec.draw(a.covariates, self.library, a.covariate_changes) for a in self.arms}

    def variability_notes(self) -> tuple[str, ...]:
        """The variability choice in words (for the report and the terminal)."""
        extra = _schedule_notes(self)
        if self.population.n == 1:
            return extra
        omega, src = self.variability()
        if not omega:
            return (f"population of {self.population.n}: no between-subject variability (omega empty): the subjects "
                    "differ only by covariates",)
        what = "published (data/variability.csv)" if isinstance(self.population.omega, str) else "given"
        return (f"population of {self.population.n}, seed {self.population.seed}: {what} between-subject variability "
                "(SD of log) " + "; ".join(f"{k} {w:.3g} ({src[k]})" for k, w in omega.items()),) + extra

    def check(self) -> dict:
        """Every semantic check that :func:`run_study` makes, short of solving: models build, doses fit the
        models, populations draw and apply, and the run fits the size limits. Returns the sizes
        (``output_mb`` summed over arms, ``nodes_estimate`` the largest of any arm)."""
        from .solve import check_run

        models = self.models()
        pops = self.populations(models)
        _check_population_names(self, models)
        sizes = [check_run(models[a.name], a.doses, self.t_h, population=pops[a.name], outputs=self.outputs)
                 for a in self.arms]
        return {"output_mb": sum(x["output_mb"] for x in sizes),
                "nodes_estimate": max(x["nodes_estimate"] for x in sizes),
                "paths": {a.name: x["path"] for a, x in zip(self.arms, sizes, strict=True)}}


@dataclass(frozen=True)
class StudyResult:
    """What :func:`run_study` returns: per arm the model, the population and the result, and the tables."""

    study: Study
    models: Mapping[str, Model]
    populations: Mapping[str, Population | None]
    results: Mapping[str, Result]

    @property
    def notes(self) -> tuple[str, ...]:
        """Every modelling choice of every arm, once, with the library changes first."""
        out = list(self.study.library_changes) + list(self.study.variability_notes())
        for m in self.results.values():
            out += list(m.notes)
        return tuple(dict.fromkeys(out))

    @property
    def n_subjects(self) -> int:
        return max(r.n_subjects for r in self.results.values())

    def tidy(self) -> pd.DataFrame:
        """Every arm's tidy time course in one table (column ``arm`` first)."""
        return _concat(_with_arm(r.tidy(), a) for a, r in self.results.items())

    def summary_table(self) -> pd.DataFrame:
        """Per arm, time and series: population median, 5th and 95th percentiles (columns
        :data:`SUMMARY_COLUMNS`)."""
        frames = [_with_arm(r.summary(lower=5.0, upper=95.0).rename(columns={"p5": "p05"}), a)
                  for a, r in self.results.items()]
        out = _concat(frames)[SUMMARY_COLUMNS]
        values = out[["time_h", "median", "p05", "p95"]].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise PharmsimError("the simulation produced non-finite values (NaN or inf); nothing was written")
        return out

    def dose_table(self) -> pd.DataFrame:
        """Every dosing event per arm, in nmol and mg of compound."""
        cat = catalog(self.study.library)
        frames = []
        for a in self.study.arms:
            df = a.doses.to_frame()
            mw = {c: cat.molar_mass(c) for c in set(df["compound"])}
            df["amount_mg"] = df["amount_nmol"] * df["compound"].map(mw) / 1e6
            frames.append(_with_arm(df, a.name))
        return _concat(frames)

    def nca_table(self) -> pd.DataFrame:
        """Non-compartmental analysis per arm, subject and compound (:meth:`pharmsim.result.Result.nca`)."""
        return _concat(_with_arm(r.nca(), a) for a, r in self.results.items())

    def endpoint_table(self) -> pd.DataFrame:
        """Per arm, subject and endpoint: peak response, time of the peak, response at the end."""
        return _concat(_with_arm(r.endpoint_summary(), a) for a, r in self.results.items())

    def parameter_table(self) -> pd.DataFrame:
        """PK and PD parameters of every arm's model, with sources: one row per distinct value and source,
        with the arms that use it (a parameter that differs between arms shows every value)."""
        frames = []
        for arm, model in self.models.items():
            pd_t = model.parameter_table()
            pd_t.insert(0, "kind", "PD")
            pk_t = pk_parameter_table(model.pk).assign(receptor="-", kind="PK", K_kind="-")
            cols = ["kind", "compound", "receptor", "parameter", "value", "unit", "K_kind", "source"]
            for frame in (pk_t[cols], pd_t[cols]):
                frames.append(frame.assign(arms=str(arm)))
        out = _concat(frames)
        keys = ["kind", "compound", "receptor", "parameter", "value", "unit", "K_kind", "source"]
        return (out.groupby(keys, sort=False, dropna=False)["arms"]
                .agg(lambda a: "; ".join(dict.fromkeys(a))).reset_index())

    def provenance_table(self) -> pd.DataFrame:
        """The preferred library rows behind the compounds and endpoints of the study."""
        lib = self.study.library
        compounds = sorted({c for m in self.models.values() for c in m.compounds})
        t = lib.provenance(compounds)
        endpoints = lib.provenance(None)
        names = {ep.name for m in self.models.values() for ep in m.endpoints}
        receptors = {r for m in self.models.values() for r in m.receptors}
        endpoints = endpoints[(endpoints["compound"] == "-") & endpoints["target"].isin(names | receptors)]
        return pd.concat([t, endpoints], ignore_index=True)

    def population_table(self) -> pd.DataFrame:
        """Each virtual subject's covariates and random effects, per arm (empty for one typical adult)."""
        return _concat(_with_arm(p.table(), a) for a, p in self.populations.items() if p is not None)


def _schedule_notes(study: Study) -> tuple[str, ...]:
    """The covariate changes and inter-occasion variability in words."""
    spec, out = study.population, []

    def one(c):
        parts = []
        for k, v in c.changed().items():
            shown = v if isinstance(v, str) else ("per subject" if np.ndim(v) else f"{float(v):g}")
            parts.append(f"{k} = {shown}")
        return f"from {c.time_h:g} h " + ", ".join(parts)

    def changes_text(changes):
        return "; ".join(one(c) for c in changes)

    if spec.covariate_changes:
        out.append(f"covariate changes (last value carried forward): {changes_text(spec.covariate_changes)}")
    for a in study.arms:
        if a.covariate_changes is not None:
            out.append(f"arm {a.name!r} covariate changes: {changes_text(a.covariate_changes) or 'none'}")
    if spec.iov:
        occ = ", ".join(f"{x:g}" for x in spec.occasions_h) or "none (one occasion)"
        out.append("inter-occasion variability (SD of log) " + "; ".join(f"{k} {w:.3g}" for k, w in spec.iov.items())
                   + f"; new occasions start at {occ} h")
    return tuple(out)


def _check_population_names(study: Study, models: Mapping[str, Model]) -> None:
    """Every omega and iov name must be a PK parameter of at least one arm's model (a typo is never ignored)."""
    known = {k for m in models.values() for k in m.pk.parameter_info}
    for k in study.population.iov:
        if k not in known:
            from .validate import suggest

            raise PharmsimError(f"population.iov names {k!r}, which is a parameter of no arm's model"
                                f"{suggest(k, known)}")
    if isinstance(study.population.omega, str):
        return
    for k in study.population.omega:
        if k not in known:
            from .validate import suggest

            raise PharmsimError(f"population.omega names {k!r}, which is a parameter of no arm's model"
                                f"{suggest(k, known)}")


def _with_arm(frame: pd.DataFrame, arm: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "arm", arm)
    return frame


def _concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_study(study: Study, *, progress=None, workers: int = 1, **simulate_kw) -> StudyResult:
    """Build every arm's model, draw the population once and simulate every arm.

    Parameters
    ----------
    study : Study
    progress : callable, optional
        Called with the number of subjects finished (summed over arms).
    workers : int
        Threads per arm (see :func:`pharmsim.solve.simulate`).
    **simulate_kw
        Passed to :func:`pharmsim.solve.simulate` (``rtol``, ``atol``, ``chunk_size``, ``max_output_mb`` ...).
    """
    if not isinstance(study, Study):
        raise PharmsimError(f"study must be a pharmsim Study; got {type(study).__name__}")
    models = study.models()
    pops = study.populations(models)
    _check_population_names(study, models)
    results = {}
    for a in study.arms:
        results[a.name] = simulate(models[a.name], a.doses, study.t_h, population=pops[a.name],
                                   outputs=study.outputs, progress=progress, workers=workers, strict=False,
                                   **simulate_kw)
    return StudyResult(study=study, models=MappingProxyType(models), populations=MappingProxyType(pops),
                       results=MappingProxyType(results))
