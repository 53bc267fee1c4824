"""Literature-uncertainty bands: run the model once per combination of published sources.

Where studies disagree, the library keeps every value and marks one preferred (:mod:`pharmsim.library`).
How much does a conclusion depend on which paper one believes? :func:`across_sources` takes chosen library
quantities - keys ``(quantity, compound, target[, pathway])`` such as ``('tau', '7-OH-MG', 'MOR', 'G protein')``
or ``('t_half_ke0', 'morphine', 'PK')`` - lists each one's sources (:meth:`pharmsim.library.Library.sources`),
and runs the model for every combination of them (a full factorial design), or for a Latin-hypercube sample of
combinations when there are more than ``max_runs``. Each run builds its model from a library in which the
combination's sources are the preferred rows (:meth:`pharmsim.library.Library.prefer`, so a tau and the EC50 of
the same assay stay together in K_A = EC50 (1 + tau), as :mod:`pharmsim.catalog` derives it) and simulates
it (:func:`pharmsim.model.build_model`, :func:`pharmsim.solve.simulate`). The key ``('K', compound, receptor)``
instead chooses the source of the ligand's K, ``build_model(..., sources={('K', c, r): s})``: that source's
functional K_A where it reports an EC50 and a tau (its tau then comes along), else its Ki, Kd or K_B
(:meth:`pharmsim.catalog.Catalog.ligand`); with no source pinned, the catalog's rule picks K.

It reports, with R runs y_r(t) of every output series:

- **bands** per time: min_r y_r(t), max_r y_r(t) and chosen percentiles across the runs (the default run,
  every key at its preferred source, beside them);
- **influence**: for each scalar output Y (:class:`pharmsim.sensitivity.Metric`: peak MOR occupancy, AUC of
  analgesia, peak respiratory depression by default) and each key k with sources s, the mean of Y over the
  runs that use s, ``m_k(s) = mean{Y_r : s_k,r = s}`` (the main effect of the choice); its **swing**
  ``max_s m_k(s) - min_s m_k(s)``, which source gives the lowest and the highest mean, the swing as a
  fraction of the whole range ``max_r Y_r - min_r Y_r``, and the **variance share**
  ``Var_s(m_k(s)) / Var_r(Y_r)`` (weighted by runs; in a full factorial design with equal weights this is the
  first-order Sobol' index of the discrete choice, Sobol' 2001). Keys are ranked by swing per output: the
  table says which source moves which output most.

Latin-hypercube sampling of combinations (McKay, Beckman & Conover 1979, doi:10.1080/00401706.1979.10489755):
for n runs and a key with m sources, a random permutation pi of 0..n-1 and u_r ~ U(0, 1) give the source
index ``floor(m (pi_r + u_r) / n)``: every source of every key appears in n/m runs (to within one), keys
combined at random. Randomness only from the explicit ``rng`` (a :class:`numpy.random.Generator`).

Not for: parameter uncertainty within a source (use :func:`pharmsim.sensitivity.sobol` with ranges), population
variability (one typical subject per run), doses that depend on the library (give ``doses`` as a callable of
the library to vary product contents). Bands show how far the published values disagree, not a probability;
teaching and research only, not dosing advice.
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .validate import PharmsimError, suggest

__all__ = ["SourceKey", "SourceBands", "across_sources", "source_candidates"]

_MODEL_KEYS = ("K",)


@dataclass(frozen=True)
class SourceKey:
    """One library quantity whose source is varied, with its candidate sources.

    Attributes
    ----------
    quantity, compound, target, pathway : str
        The library key (``pathway`` '-' where the rows have none); ``quantity='K'`` is the model's
        affinity choice at receptor ``target`` (every source with a Ki, Kd, Kb or EC50 row there).
    sources : tuple of str
        Candidate labels: the source name, with ``' [assay]'`` appended where one source has several rows.
    rows : tuple of (source, assay)
        What each label selects (assay '' for a 'K' key).
    values : tuple of str
        Each candidate's value with its unit, for tables.
    default : str
        The label of the preferred row; '' where none is pinned (a 'K' key) or it is not among the
        candidates (the default run is then simulated separately).
    """

    quantity: str
    compound: str
    target: str
    pathway: str
    sources: tuple[str, ...]
    rows: tuple[tuple[str, str], ...]
    values: tuple[str, ...]
    default: str

    @property
    def label(self) -> str:
        """``'tau of 7-OH-MG at MOR (G protein)'``; ``'gain at respiratory_depression (G protein)'`` for rows of
        no compound."""
        pw = "" if self.pathway in ("-", "") else f" ({self.pathway})"
        of = "" if self.compound == "-" else f" of {self.compound}"
        return f"{self.quantity}{of} at {self.target}{pw}"


def _key_tuple(key) -> tuple:
    if not (isinstance(key, tuple) and len(key) in (3, 4) and all(isinstance(k, str) for k in key)):
        raise PharmsimError(f"keys must be (quantity, compound, target) or (quantity, compound, target, pathway) "
                            f"tuples of strings, e.g. ('tau', '7-OH-MG', 'MOR', 'G protein'); got {key!r}")
    return key if len(key) == 4 else (*key, None)


def source_candidates(key, library=None, only: Sequence[str] | None = None) -> SourceKey:
    """The candidate sources of one key (``(quantity, compound, target[, pathway])``) in ``library``.

    ``only`` restricts them to the named labels (each must be a candidate; the preferred one need not be among
    them). Raises when the key has no rows, its rows span several pathways and none is given, or fewer than
    one candidate remains.
    """
    from .catalog import catalog

    cat = catalog(library)
    lib = cat.library
    quantity, compound, target, pathway = _key_tuple(key)
    cid = cat.compound_id(compound) if compound != "-" else "-"
    if quantity in _MODEL_KEYS:
        # every source that can give a K at the receptor (build_model(sources={('K', c, r): s}) takes the
        # source's functional K_A where it reports EC50 and tau, else its Ki, Kd or K_B - pharmsim.catalog)
        found = [(q, pw) for q, pw in (("Ki", None), ("Kd", None), ("Kb", "G protein"), ("EC50", "G protein"))
                 if lib.has(q, cid, target, pathway=pw)]
        if not found:
            raise PharmsimError(f"key {key!r}: the library has no Ki, Kd, Kb or EC50 of {cid} at {target}, so there "
                                "is no K source to choose")
        rows = pd.concat([lib.sources(q, cid, target, pw) for q, pw in found], ignore_index=True)
        pathway = "-"
        labels = list(dict.fromkeys(rows["source"]))
        pairs = [(src, "") for src in labels]
        vals = ["; ".join(f"{r['quantity']} {r['value']:g} {r['unit']}".strip()
                          for r in rows[rows["source"] == src].to_dict("records")) for src in labels]
        default_label = ""      # the catalog's rule picks the default K; no source is pinned
    else:
        rows = lib.sources(quantity, cid, target, pathway)
        if rows.empty:
            raise PharmsimError(f"key {key!r}: the library has no {quantity} of {cid} at {target}"
                                + (f" for pathway {pathway!r}" if pathway else ""))
        pathways = list(dict.fromkeys(rows["pathway"]))
        if pathway is None:
            if len(pathways) > 1:
                raise PharmsimError(f"key {key!r}: {quantity} of {cid} at {target} has rows for several pathways "
                                    f"({', '.join(map(repr, pathways))}); give the pathway as a fourth element")
            pathway = pathways[0]
        pref = rows[rows["preferred"]]
        if len(pref) != 1:
            raise PharmsimError(f"key {key!r} must have exactly one preferred row in the library; found {len(pref)}")
        default = (pref["source"].iloc[0], pref["assay"].iloc[0])
        pairs = list(dict.fromkeys(zip(rows["source"], rows["assay"], strict=True)))
        counts = pd.Series([src for src, _ in pairs]).value_counts()
        labels = [src if counts[src] == 1 else f"{src} [{a}]" for src, a in pairs]
        vals = []
        for src, a in pairs:
            r = rows[(rows["source"] == src) & (rows["assay"] == a)].iloc[0]
            vals.append(f"{r['value']:g} {r['unit']}".strip())
        default_label = labels[pairs.index(default)]
    if only is not None:
        if isinstance(only, str):
            only = [only]
        keep = []
        for o in only:
            if o not in labels:
                raise PharmsimError(f"key {key!r}: source must be one of {', '.join(map(repr, labels))}; got {o!r}"
                                    f"{suggest(str(o), labels)}")
            keep.append(labels.index(o))
        pairs, labels, vals = [pairs[i] for i in keep], [labels[i] for i in keep], [vals[i] for i in keep]
    if not labels:
        raise PharmsimError(f"key {key!r} has no candidate source")
    return SourceKey(quantity=quantity, compound=cid, target=target, pathway=pathway, sources=tuple(labels),
                     rows=tuple(pairs), values=tuple(vals), default=default_label)


def _as_keys(keys, library) -> list[SourceKey]:
    if isinstance(keys, Mapping):
        items = list(keys.items())
    elif isinstance(keys, Sequence) and not isinstance(keys, str):
        items = [(k, None) for k in keys]
    else:
        raise PharmsimError(f"keys must be a sequence of (quantity, compound, target[, pathway]) tuples or a mapping "
                            f"of them to source names; got {keys!r}")
    if not items:
        raise PharmsimError("keys must name at least one library quantity")
    out = [source_candidates(k, library, only) for k, only in items]
    ids = [(k.quantity, k.compound, k.target, k.pathway) for k in out]
    if len(set(ids)) != len(ids):
        raise PharmsimError(f"keys must name each quantity once; got {ids}")
    return out


def _apply(library, keys: Sequence[SourceKey], choice: Sequence[int]):
    """(library with the chosen rows preferred, build_model sources for 'K' keys)."""
    lib = library
    k_sources = {}
    for key, i in zip(keys, choice, strict=True):
        source, assay = key.rows[i]
        if key.quantity in _MODEL_KEYS:
            k_sources[(key.quantity, key.compound, key.target)] = source
        else:
            lib = lib.prefer(key.quantity, key.compound, key.target, source, key.pathway, assay=assay)
    return lib, k_sources


def _signature(model) -> tuple:
    pk = tuple((k, float(np.asarray(v))) for k, v in model.pk.parameters.items())
    ligs = tuple((x.name, x.receptor, x.K_nM, x.efficacy, x.kon_per_nM_per_h, x.koff_per_h, x.arrestin_efficacy)
                 for x in model.ligands)
    eps = tuple((e.name, e.gain, e.Em, e.n, e.receptor_fraction) for e in model.endpoints)
    return pk, ligs, eps


@dataclass(frozen=True, eq=False)
class SourceBands:
    """What :func:`across_sources` returns.

    Attributes
    ----------
    keys : tuple of SourceKey
    design : {'full factorial', 'latin hypercube'}
    runs : pandas.DataFrame
        One row per run: ``run``, the source label chosen for each key (columns named by
        :attr:`SourceKey.label`), ``combination`` (index into :attr:`results`), then one column per metric.
    bands : pandas.DataFrame
        Per output series and time: time_h, quantity, compound, receptor, endpoint, unit, default (the run
        with every key at its preferred source), min, the percentiles (``p5`` ...), max, n_runs.
    influence : pandas.DataFrame
        Per metric and key: metric, unit, key, n_sources, low_source, low_mean, high_source, high_mean,
        swing, swing_fraction, variance_share, rank (1 = moves the metric most); and, per source, the
        run count and mean in ``main_effects``.
    main_effects : pandas.DataFrame
        metric, key, source, value (the candidate's library value), n_runs, mean.
    results : tuple of Result
        One per distinct combination simulated (``runs['combination']`` points into it).
    default : Result
        The run with every key at its preferred source.
    models : tuple of Model
        The model of each distinct combination.
    notes : tuple of str
    """

    keys: tuple[SourceKey, ...]
    design: str
    runs: pd.DataFrame = field(repr=False)
    bands: pd.DataFrame = field(repr=False)
    influence: pd.DataFrame = field(repr=False)
    main_effects: pd.DataFrame = field(repr=False)
    results: tuple = field(repr=False)
    default: object = field(repr=False)
    models: tuple = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def plot(self, quantity: str, compound: str | None = None, receptor: str | None = None,
             endpoint: str | None = None, *, ax=None, title: str | None = None):
        """The band of one output series (min-max, the outer percentiles, the default run); returns the Figure."""
        from matplotlib.figure import Figure

        from .plots import style_axes

        b = self.bands[self.bands["quantity"] == quantity]
        if b.empty:
            raise PharmsimError(f"quantity must be one of {sorted(set(self.bands['quantity']))}; got {quantity!r}"
                                f"{suggest(quantity, set(self.bands['quantity']))}")
        for col, v in (("compound", compound), ("receptor", receptor), ("endpoint", endpoint)):
            if v is not None:
                b = b[b[col] == v]
        labels = b[["compound", "receptor", "endpoint"]].drop_duplicates()
        if len(labels) != 1:
            raise PharmsimError(f"plot needs exactly one series; {len(labels)} match quantity={quantity!r}, "
                                f"compound={compound!r}, receptor={receptor!r}, endpoint={endpoint!r}: "
                                f"{[tuple(r) for r in labels.to_numpy()]}")
        pcols = [c for c in b.columns if c.startswith("p") and c[1:].replace(".", "").isdigit()]
        if ax is None:
            fig = Figure(figsize=(7.0, 4.2), layout="constrained")
            ax = fig.subplots()
        else:
            fig = ax.figure
        t = b["time_h"].to_numpy()
        ax.fill_between(t, b["min"], b["max"], color="C0", alpha=0.2, label=f"min-max of {self.n_runs} runs")
        if len(pcols) >= 2:
            ax.fill_between(t, b[pcols[0]], b[pcols[-1]], color="C0", alpha=0.35,
                            label=f"{pcols[0][1:]}-{pcols[-1][1:]}th percentile")
        ax.plot(t, b["default"], color="C3", linewidth=2, label="preferred sources")
        lab = ":".join(x for x in labels.iloc[0] if x not in ("-", "all"))
        style_axes(ax, title=title or f"{quantity} {lab}: across published sources", xlabel="time (h)",
                   ylabel=f"{quantity} ({b['unit'].iloc[0]})")
        return fig


def _combinations(keys, max_runs, n_samples, rng):
    sizes = [len(k.sources) for k in keys]
    total = math.prod(sizes)
    if total <= max_runs and n_samples is None:
        return "full factorial", [tuple(c) for c in itertools.product(*[range(m) for m in sizes])], total
    if not isinstance(rng, np.random.Generator):
        why = (f"there are {total:,} combinations of sources, more than max_runs = {max_runs:,}" if n_samples is None
               else f"n_samples = {n_samples} asks for a Latin-hypercube sample")
        raise PharmsimError(f"rng must be a numpy.random.Generator: {why}; give rng=numpy.random.default_rng(seed) "
                            f"for a Latin-hypercube sample of combinations (or raise max_runs); got rng={rng!r}")
    n = max_runs if n_samples is None else n_samples
    cols = []
    for m in sizes:
        u = (rng.permutation(n) + rng.random(n)) / n
        cols.append(np.minimum((u * m).astype(int), m - 1))
    return "latin hypercube", [tuple(int(c[r]) for c in cols) for r in range(n)], total


def across_sources(doses, t_h, keys, *, library=None, model_options=None, metrics=None,
                   percentiles: Sequence[float] = (5.0, 50.0, 95.0), max_runs: int = 256,
                   n_samples: int | None = None, rng: np.random.Generator | None = None, outputs=None,
                   **simulate_kw) -> SourceBands:
    """Run the model once per combination of the published sources of ``keys``; bands and an influence table.

    Parameters
    ----------
    doses : Doses, or callable library -> Doses
        The doses of every run (a callable is called with each run's library, e.g.
        ``lambda lib: Product('tea', 2.0).doses(0.0, library=lib)``, to vary product contents too).
    t_h : (T,) array
        Output times (h).
    keys : sequence of key tuples, or mapping key -> sequence of source labels
        ``(quantity, compound, target[, pathway])`` of the library (``pathway`` needed where the rows span
        several), or ``('K', compound, receptor)`` (module docstring; not together with a ``tau`` key of the same
        compound and receptor, since a source reporting both sets both); a mapping restricts a key to the
        sources named (None: all).
        Every candidate is one row of :meth:`Library.sources`; :func:`source_candidates` lists them.
    library : Library, optional
        Default the shipped data.
    model_options : ModelOptions or mapping, optional
        :func:`pharmsim.model.build_model` choices (``binding``, ``receptors``, ``endpoints``, ``affinity``,
        ``dor_efficacy``, ``sources``, ``max_step_h``; a :class:`pharmsim.study.ModelOptions` or a dict of
        them); a study's ``Study.model``.
    metrics : as :func:`pharmsim.sensitivity.sobol`
        Scalar outputs for the runs and influence tables (default
        :func:`pharmsim.sensitivity.default_metrics`).
    percentiles : sequence of float
        Percentiles of the runs reported per time (in [0, 100]).
    max_runs : int
        Largest full factorial design; beyond it a Latin-hypercube sample of ``max_runs`` combinations.
    n_samples : int, optional
        Ask for a Latin-hypercube sample of this many combinations even when the full design is smaller.
    rng : numpy.random.Generator, optional
        Needed for Latin-hypercube sampling (its only source of randomness).
    outputs : as :func:`pharmsim.solve.simulate`
        What each run keeps (default everything).
    **simulate_kw
        Passed to :func:`pharmsim.solve.simulate` (``rtol``, ``atol`` ...); not ``population``.

    Returns
    -------
    SourceBands

    Raises
    ------
    PharmsimError
        Unknown keys or sources (with the nearest), a key whose source cannot be used by the model (e.g. a
        clearance per kg), too many combinations without ``rng``, a ``tau`` key pinned by
        ``model_options.sources`` or ``dor_efficacy``, bad percentiles.

    Warns
    -----
    UserWarning
        When a key's sources all give the same model (pharmsim does not read that quantity, or the sources
        agree); the influence table then shows a swing of 0 for it.
    """
    from .catalog import catalog
    from .dosing import Doses
    from .sensitivity import _as_metrics, _evaluate_metrics
    from .solve import simulate
    from .study import ModelOptions

    lib0 = catalog(library).library
    if "population" in simulate_kw:
        raise PharmsimError("population= is not supported: across_sources runs one typical subject per "
                            "combination of sources")
    for name, v in (("max_runs", max_runs),) + ((("n_samples", n_samples),) if n_samples is not None else ()):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise PharmsimError(f"{name} must be a whole number >= 1; got {v!r}")
    pcts = [float(p) for p in percentiles]
    if any(not 0 <= p <= 100 for p in pcts) or len(set(pcts)) != len(pcts):
        raise PharmsimError(f"percentiles must be distinct numbers in [0, 100]; got {list(percentiles)!r}")
    pcts.sort()
    if model_options is None:
        opts = ModelOptions()
    elif isinstance(model_options, ModelOptions):
        opts = model_options
    elif isinstance(model_options, Mapping):
        try:
            opts = ModelOptions(**dict(model_options))
        except TypeError as err:
            fields = ["receptors", "endpoints", "binding", "affinity", "dor_efficacy", "tolerance", "sources",
                      "max_step_h"]
            bad = next((k for k in model_options if k not in fields), "?")
            raise PharmsimError(f"model_options has {bad!r}, which is not a build_model choice "
                                f"({', '.join(fields)}){suggest(str(bad), fields)}") from err
    else:
        raise PharmsimError(f"model_options must be a ModelOptions or a mapping; got {type(model_options).__name__}")
    skeys = _as_keys(keys, lib0)
    pinned_K = {(k.compound, k.target) for k in skeys if k.quantity in _MODEL_KEYS}
    for k in skeys:
        if k.quantity == "tau" and (k.compound, k.target) in pinned_K:
            raise PharmsimError(f"keys vary both ('K', {k.compound!r}, {k.target!r}) and {k.label!r}: a K source that "
                                "reports an EC50 and a tau sets both (K_A and tau of one assay stay together), so vary "
                                "one of them")
        if k.quantity == "tau" and ("tau", k.compound, k.target) in opts.sources:
            raise PharmsimError(f"key {k.label!r} is pinned by model_options.sources[('tau', {k.compound!r}, "
                                f"{k.target!r})]; remove one of them")
        if k.quantity == "tau" and k.target == "DOR" and opts.dor_efficacy is not None:
            raise PharmsimError(f"key {k.label!r} is pinned by model_options.dor_efficacy = {opts.dor_efficacy!r}; "
                                "remove one of them")

    def doses_for(lib):
        d = doses(lib) if callable(doses) and not isinstance(doses, Doses) else doses
        if not isinstance(d, Doses):
            raise PharmsimError(f"doses must be a pharmsim Doses or a callable library -> Doses; got {d!r}")
        return d

    cache: dict[tuple, tuple] = {}

    def build(choice):
        if choice not in cache:
            lib, k_src = _apply(lib0, skeys, choice)
            d = doses_for(lib)
            o = replace(opts, sources={**opts.sources, **k_src})
            try:
                m = o.build(d, lib)
            except PharmsimError as err:
                where = "; ".join(f"{k.label} = {k.sources[i]}" for k, i in zip(skeys, choice, strict=True))
                raise PharmsimError(f"the model cannot be built with {where}: {err}. Leave that source out by giving "
                                    "keys as a mapping {key: [the sources to use]}") from None
            cache[choice] = (m, d)
        return cache[choice]

    default_choice = tuple(k.sources.index(k.default) if k.default in k.sources else None for k in skeys)
    notes = []
    # one-at-a-time check: every source builds, and each key changes the model
    base = tuple(0 if c is None else c for c in default_choice)
    for j, k in enumerate(skeys):
        sigs = {_signature(build(base[:j] + (i,) + base[j + 1:])[0]) for i in range(len(k.sources))}
        if len(sigs) == 1 and (len(k.sources) > 1):
            msg = (f"the sources of {k.label} ({', '.join(k.sources)}) all give the same model: pharmsim does not "
                   "read this quantity here (an agonist's K, for example, is the K_A of its tau source, not a Ki: "
                   "vary 'tau' or ('K', compound, receptor)), or the sources agree")
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=2)
    design, combos, total = _combinations(skeys, int(max_runs), n_samples, rng)
    if design == "latin hypercube":
        notes.append(f"Latin-hypercube sample of {len(combos)} of {total:,} combinations of sources")
    distinct = list(dict.fromkeys(combos))
    index = {c: i for i, c in enumerate(distinct)}
    results, models = [], []
    for c in distinct:
        m, d = build(c)
        models.append(m)
        results.append(simulate(m, d, t_h, outputs=outputs, **simulate_kw))
    if all(c is not None for c in default_choice) and default_choice in index:
        default = results[index[default_choice]]
    else:
        d0 = doses_for(lib0)
        default = simulate(opts.build(d0, lib0), d0, t_h, outputs=outputs, **simulate_kw)
    labels0 = [(x.quantity, x.compound, x.receptor, x.endpoint) for x in results[0].series]
    for c, r in zip(distinct, results, strict=True):
        if [(x.quantity, x.compound, x.receptor, x.endpoint) for x in r.series] != labels0:
            where = "; ".join(f"{k.label} = {k.sources[i]}" for k, i in zip(skeys, c, strict=True))
            raise PharmsimError(f"the runs do not produce the same outputs (with {where} the model has other ligands "
                                "or endpoints), so they cannot be banded; restrict the keys' sources or outputs=")
    mets = _as_metrics(metrics, models[0])
    Yd = np.stack([_evaluate_metrics(mets, r, 1)[0] for r in results])            # (distinct, M)
    run_idx = np.array([index[c] for c in combos])
    Y = Yd[run_idx]
    # runs table
    runs = pd.DataFrame({"run": np.arange(len(combos))})
    for j, k in enumerate(skeys):
        runs[k.label] = [k.sources[c[j]] for c in combos]
    runs["combination"] = run_idx
    for m_i, (name, _, _) in enumerate(mets):
        runs[name] = Y[:, m_i]
    # bands
    frames = []
    t = results[0].t_h
    for s_i, s in enumerate(results[0].series):
        V = np.stack([r.series[s_i].values[0] for r in results])[run_idx]          # (runs, T)
        dflt = next(x.values for x in default.series
                    if (x.quantity, x.compound, x.receptor, x.endpoint) == (s.quantity, s.compound, s.receptor,
                                                                              s.endpoint))
        row = {"time_h": t, "quantity": s.quantity, "compound": s.compound, "receptor": s.receptor,
               "endpoint": s.endpoint, "unit": s.unit, "default": dflt[0], "min": V.min(axis=0)}
        for p, v in zip(pcts, np.percentile(V, pcts, axis=0), strict=True):
            row[f"p{p:g}"] = v
        row["max"] = V.max(axis=0)
        row["n_runs"] = V.shape[0]
        frames.append(pd.DataFrame(row))
    bands = pd.concat(frames, ignore_index=True)
    # influence
    infl, main = [], []
    for m_i, (name, _, unit) in enumerate(mets):
        y = Y[:, m_i]
        total_range = float(np.ptp(y))
        total_var = float(np.var(y))
        per_metric = []
        for j, k in enumerate(skeys):
            chosen = np.array([c[j] for c in combos])
            means, counts = [], []
            for i, src in enumerate(k.sources):
                sel = chosen == i
                counts.append(int(sel.sum()))
                means.append(float(y[sel].mean()) if sel.any() else math.nan)
                main.append({"metric": name, "unit": unit, "key": k.label, "source": src, "value": k.values[i],
                             "n_runs": counts[-1], "mean": means[-1]})
            mm = np.array(means)
            ok = np.isfinite(mm)
            lo_i, hi_i = int(np.nanargmin(mm)), int(np.nanargmax(mm))
            swing = float(mm[hi_i] - mm[lo_i])
            w = np.array(counts)[ok] / max(sum(counts), 1)
            share = float(np.sum(w * (mm[ok] - y.mean()) ** 2) / total_var) if total_var > 0 else 0.0
            per_metric.append({"metric": name, "unit": unit, "key": k.label, "n_sources": len(k.sources),
                               "low_source": k.sources[lo_i], "low_mean": float(mm[lo_i]),
                               "high_source": k.sources[hi_i], "high_mean": float(mm[hi_i]), "swing": swing,
                               "swing_fraction": swing / total_range if total_range > 0 else 0.0,
                               "variance_share": share})
        order = sorted(range(len(per_metric)), key=lambda i: -per_metric[i]["swing"])
        for rank, i in enumerate(order, start=1):
            per_metric[i]["rank"] = rank
        infl += sorted(per_metric, key=lambda r: r["rank"])
    return SourceBands(keys=tuple(skeys), design=design, runs=runs, bands=bands, influence=pd.DataFrame(infl),
                       main_effects=pd.DataFrame(main), results=tuple(results), default=default,
                       models=tuple(models), notes=tuple(notes))

