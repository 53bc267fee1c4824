"""The ``pharmsim`` command: run scenarios, the demo, library look-ups and receptor curves.

Subcommands::

    pharmsim run SCENARIO --out DIR [--force] [--quiet]   tables, figures and an HTML report
             [--set KEY=VALUE ...] [--style classroom] [--conc-unit ng/mL] [--log-y]
    pharmsim demo --out DIR [--force] [--quiet]           the main job on the shipped demo scenario
                                                          (same options as run)
    pharmsim check SCENARIO [--set KEY=VALUE ...]         validate a scenario file, simulate nothing
    pharmsim scenarios                                    list the shipped example scenarios
    pharmsim compounds                                    the compounds the library holds
    pharmsim sources PARAMETER [--compound X] [--target MOR] [--pathway P]
                                                          every source for a parameter, with its status
    pharmsim curve --receptor MOR --ligands MG 7-OH-MG morphine --out DIR
                                                          occupancy and concentration-response curves

User errors (a :class:`~pharmsim.validate.PharmsimError`, a TOML syntax error, a missing file) print one
message on stderr and exit with status 2, without a traceback. Output folders are written by
:mod:`pharmsim.output`: in a temporary folder beside the target, renamed into place only when complete; an
existing folder is replaced only with ``--force`` and only if pharmsim wrote it.

Not for: any science (the command only parses, calls :func:`pharmsim.study.run_study` and writes files).
Teaching and research, not dosing advice.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._version import __version__
from .output import atomic_output_dir, check_out, write_bytes, write_csv, write_text
from .validate import PharmsimError, require_count, suggest

__all__ = ["main", "build_parser", "write_study", "write_curves"]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."
EXIT_USER_ERROR = 2


# --------------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------------


def _progress_enabled(quiet: bool) -> bool:
    if quiet:
        return False
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _say(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message)


# --------------------------------------------------------------------------------------------------
# running a scenario: simulate every arm, then write tables, figures and the report
# --------------------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ["arm", "time_h", "quantity", "compound", "receptor", "endpoint", "unit", "median", "p05", "p95",
                   "n_subjects"]

README_TEMPLATE = """pharmsim {version} output: {title}

{disclaimer}
Simulated values describe a model, not a person. Every parameter value, its unit and its source are in
tables/parameters.csv, tables/library_provenance.csv and report.html.

Files
-----
report.html                  the self-contained report (figures embedded): open it in a browser
scenario.toml                the scenario that produced these files
tables/summary.csv           per arm, time, quantity, compound, receptor and endpoint: population median,
                             5th and 95th percentiles (p05, p95) and n_subjects; units in column 'unit'
                             (plasma_conc, effect_conc_unbound: nM; plasma_conc_mass: ng/mL; occupancy: fraction
                             of receptors; response: fraction of the endpoint's maximum Em)
tables/doses.csv             every dosing event per arm (amount in nmol and mg of compound)
tables/nca.csv               non-compartmental analysis per arm, subject and compound (Cmax, Tmax, AUC ...)
tables/endpoints.csv         per arm, subject and endpoint: peak response, time of the peak, response at the end
tables/parameters.csv        the model's parameters (PK and PD) with the source of each value
tables/library_provenance.csv  the library rows in use: value, unit, species, assay, source, DOI, status
tables/peaks.csv             per arm and series: each subject's peak, summarised (median, p05, p95; fractions
                             for occupancy and response, as in summary.csv)
tables/displacement.csv      (a full agonist with a partial agonist or antagonist) the equilibrium thresholds
                             behind the report's conclusions: crossover concentration, half-occupancy, effect
tables/population.csv        (populations) each virtual subject's covariates and random effects
tables/subjects.csv          (only with output.per_subject_csv = true) every subject's tidy time course
figures/*.png                the figures shown in the report (colour = compound, line style = arm; occupancy
                             and responses in %, as in the report; the CSV tables keep fractions)

Tidy columns: arm, subject, time_h (h), quantity, compound, receptor, endpoint, value, unit.
"""


class _Progress:
    """A tqdm bar over subjects x arms when enabled and tqdm is installed; otherwise silent."""

    def __init__(self, total: int, enabled: bool, desc: str):
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415
            except ImportError:
                return
            self.bar = tqdm(total=total, desc=desc, unit="subject", leave=False, file=sys.stderr)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def write_study(sr, out_dir: Path, *, style=None, conc_unit: str = "nM", log_y: bool = False,
                findings=None) -> list[Path]:
    """Write a :class:`pharmsim.study.StudyResult` into ``out_dir`` (inside an open
    :func:`pharmsim.output.atomic_output_dir`): the tables, the figures, the scenario, a README and the HTML
    report. ``style`` (``"default"`` | ``"classroom"``), ``conc_unit`` (``"nM"`` | ``"ng/mL"``) and ``log_y``
    choose how the figures look (:func:`pharmsim.plots.study_figures`). Returns the files written."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import report  # noqa: PLC0415
    from .comparison import study_findings  # noqa: PLC0415
    from .plots import study_figures  # noqa: PLC0415
    from .style import get_style  # noqa: PLC0415

    study = sr.study
    st = get_style(style)
    findings = study_findings(sr) if findings is None else findings
    out_dir = Path(out_dir)
    written: list[Path] = []
    summary = sr.summary_table()
    doses = sr.dose_table()
    nca = sr.nca_table()
    endpoints = sr.endpoint_table()
    params = sr.parameter_table()
    prov = sr.provenance_table()
    tables = {"summary.csv": summary, "doses.csv": doses, "nca.csv": nca, "endpoints.csv": endpoints,
              "parameters.csv": params, "library_provenance.csv": prov, "peaks.csv": findings.peaks}
    if len(findings.displacement):
        tables["displacement.csv"] = findings.displacement
    pops = sr.population_table()
    if len(pops):
        tables["population.csv"] = pops
    if study.per_subject_csv:
        tables["subjects.csv"] = sr.tidy()
    for name, frame in tables.items():
        written.append(write_csv(out_dir / "tables" / name, frame))
    figures: list[report.ReportFigure] = []
    if study.figures:
        items = study_figures(sr, style=st, conc_unit=conc_unit, log_y=log_y, findings=findings)
        pngs = report.figure_pngs([fig for _, fig, _ in items], dpi=st.dpi)
        for (name, fig, caption), png in zip(items, pngs, strict=True):
            plt.close(fig)
            written.append(write_bytes(out_dir / "figures" / name, png))
            figures.append(report.ReportFigure(name=f"figures/{name}", png=png, caption=caption))
    if study.text:
        written.append(write_text(out_dir / "scenario.toml", study.text))
    title = study.title or study.name
    written.append(write_text(out_dir / "README.txt", README_TEMPLATE.format(version=__version__, title=title,
                                                                              disclaimer=DISCLAIMER)))
    if study.report:
        doc = report.study_report(sr, figures, findings=findings, doses=doses, nca=nca, endpoints=endpoints,
                                  parameters=params, provenance=prov)
        written.append(write_text(out_dir / "report.html", doc))
    return written


def write_curves(out_dir: Path, *, receptor: str, ligands: Sequence[str], library=None, endpoint: str | None = None,
                 reference: str | None = None, dor_efficacy: str = "default", affinity: str = "functional"
                 ) -> list[Path]:
    """Occupancy and concentration-response curves (PNG + CSV) of ``ligands`` at ``receptor``, each alone.

    Ligand parameters (K, efficacy) come from the catalogue exactly as the model takes them
    (:meth:`pharmsim.catalog.Catalog.ligand`): the same sources, the same functional affinity; the K in use and
    the binding Ki are named in ``ligands.csv`` and in the legends. Occupancy ``p = C/(C + K)``; response by
    the operational model ``E = Em tau^n C^n / ((K + C)^n + tau^n C^n)`` (Black & Leff 1983,
    doi:10.1098/rspb.1983.0093). The reference (thick black) is the given one, or the ligand of highest efficacy.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import report  # noqa: PLC0415
    from .catalog import catalog  # noqa: PLC0415
    from .comparison import ceiling_table_of  # noqa: PLC0415
    from .plots import footer, occupancy_curves, response_curves  # noqa: PLC0415
    from .receptor import endpoint_response, hill_occupancy  # noqa: PLC0415
    from .scenario import _check_dor_source  # noqa: PLC0415
    from .validate import require_choice  # noqa: PLC0415

    cat = catalog(library)
    require_choice("--receptor", receptor, cat.receptors())
    endpoints = list(cat.endpoint_names(receptor))
    if endpoint is not None:
        if endpoint not in endpoints:
            raise PharmsimError(f"--endpoint must be one of {', '.join(map(repr, endpoints))} at {receptor}; got "
                                f"{endpoint!r}{suggest(endpoint, endpoints)}")
        endpoints = [endpoint]
    _check_dor_source("--dor-efficacy", dor_efficacy, cat.library)
    ligs, missing = [], []
    for name in ligands:
        try:
            cid = cat.compound_id(name)
        except PharmsimError as err:
            raise PharmsimError(f"--ligands: {err}") from None
        if cid in [lig.name for lig in ligs] or cid in missing:
            continue
        tau_source = None
        if receptor == "DOR" and dor_efficacy != "default" and cat.library.has("tau", cid, "DOR", pathway="G protein",
                                                                               source=dor_efficacy):
            tau_source = dor_efficacy
        try:
            lig = cat.ligand(cid, receptor, affinity=affinity, tau_source=tau_source, kinetic=False)
        except PharmsimError as err:
            raise PharmsimError(f"--ligands: {cid} cannot be drawn at {receptor}: {err}") from None
        if lig is None:
            missing.append(cid)
        else:
            ligs.append(lig)
    if not ligs:
        raise PharmsimError(f"none of {list(ligands)} has an affinity at {receptor} in the library")
    if reference is None:
        reference = max(ligs, key=lambda x: x.efficacy).name if any(x.efficacy > 0 for x in ligs) else None
    elif reference not in [lig.name for lig in ligs]:
        raise PharmsimError(f"--reference must be one of the ligands drawn ({', '.join(lig.name for lig in ligs)}); "
                            f"got {reference!r}")
    eps = [cat.endpoint(e) for e in endpoints]
    table = ceiling_table_of(ligs, eps)
    out_dir = Path(out_dir)
    written: list[Path] = []
    lo = np.log10(min(lig.K_nM for lig in ligs)) - 3
    hi = np.log10(max(lig.K_nM for lig in ligs)) + 3
    conc = np.logspace(lo, hi, 300)

    def save(fig, name):
        footer(fig)
        written.append(write_bytes(out_dir / name, report.figure_png(fig)))
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(9.0, 6.0), layout="constrained")
    occupancy_curves(ligs, ax=ax, conc_range_nM=(conc[0], conc[-1]))
    save(fig, f"occupancy_{receptor}.png")
    rows = [{"quantity": "occupancy", "receptor": receptor, "endpoint": "-", "ligand": lig.name, "conc_nM": c,
             "value": v, "unit": "fraction"} for lig in ligs for c, v in zip(conc, hill_occupancy(conc, lig.K_nM),
                                                                             strict=True)]
    for ep in eps:
        ref = next((lig for lig in ligs if lig.name == reference), None)
        others = [lig for lig in ligs if lig is not ref]
        if not others:                      # one ligand: draw it as an ordinary curve, no reference
            others, ref = [ref], None
        fig, ax = plt.subplots(figsize=(9.0, 6.0), layout="constrained")
        response_curves(others, ep, reference=ref, ax=ax, conc_range_nM=(conc[0], conc[-1]))
        save(fig, f"response_{ep.name}.png")
        for lig in ligs:
            E = endpoint_response(conc[:, None], [lig], ep) / ep.Em
            rows += [{"quantity": "response", "receptor": receptor, "endpoint": ep.name, "ligand": lig.name,
                      "conc_nM": c, "value": float(v), "unit": "fraction of Em"} for c, v in zip(conc, E, strict=True)]
    written.append(write_csv(out_dir / "curves.csv", pd.DataFrame(rows)))
    written.append(write_csv(out_dir / "ligands.csv", table))
    note = "" if not missing else f"\nNot drawn (no affinity at {receptor} in the library): {', '.join(missing)}\n"
    written.append(write_text(out_dir / "README.txt", (
        f"pharmsim {__version__}: occupancy and concentration-response curves at {receptor}\n\n{DISCLAIMER}\n\n"
        "curves.csv    quantity, receptor, endpoint, ligand, conc_nM (unbound, nM), value, unit\n"
        "ligands.csv   each ligand at each endpoint: the K in use (K_nM, K_kind) beside the binding Ki\n"
        "              (Ki_nM) and the in-vitro functional K_A (K_A_in_vitro_nM), efficacy, tau,\n"
        "              Emax, EC50_unbound_nM and their sources\n"
        "*.png         the figures\n" + note)))
    return written


# --------------------------------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------------------------------


def _library():
    from .library import load_library  # noqa: PLC0415

    return load_library()


def _cmd_run(args) -> int:
    return _run_study(_load(args.scenario, args), args, _source(args.scenario))


def _cmd_demo(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    return _run_study(_load(sc.shipped_scenario_path("demo"), args), args, "demo.toml")


def _load(scenario, args):
    """The scenario as a Study, with the ``--set KEY=VALUE`` overrides (checked like keys of the file)."""
    from .overrides import load_with_overrides  # noqa: PLC0415

    return load_with_overrides(scenario, getattr(args, "overrides", None) or (), library=_library())


def _source(scenario) -> str:
    """The scenario as error messages name it (the file name, as :func:`pharmsim.scenario.load` does)."""
    p = Path(scenario)
    return p.name if p.suffix else f"{p.name}.toml"


def _about(source: str, call, *a, **kw):
    """``call(*a, **kw)``; a PharmsimError names the scenario file first, as errors while reading it do."""
    try:
        return call(*a, **kw)
    except PharmsimError as err:
        raise PharmsimError(f"{source}: {err}") from None


def _run_study(study, args, source: str) -> int:
    from .study import run_study  # noqa: PLC0415

    out = Path(args.out)
    check_out(out, args.force)                 # a refusal costs nothing: before any simulation
    _about(source, study.check)
    total = study.population.n * len(study.arms)
    bar = _Progress(total, _progress_enabled(args.quiet) and total > 1, f"pharmsim {study.name}")
    try:
        sr = _about(source, run_study, study, progress=bar.update)
    finally:
        bar.close()
    from .comparison import study_findings  # noqa: PLC0415
    from .report import terminal_lines  # noqa: PLC0415

    findings = study_findings(sr)
    for line in terminal_lines(sr, findings):
        _say(args, line)
    with atomic_output_dir(out, force=args.force) as tmp:
        written = write_study(sr, tmp, style=args.style, conc_unit=args.conc_unit, log_y=args.log_y,
                              findings=findings)
    _say(args, f"pharmsim: wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    _say(args, DISCLAIMER)
    return 0


def _cmd_check(args) -> int:
    study = _load(args.scenario, args)
    sizes = _about(_source(args.scenario), study.check)
    n_doses = sum(a.doses.n_events for a in study.arms)
    print(
        f"{args.scenario}: OK — {len(study.arms)} arm(s), {n_doses} dose event(s), {study.population.n} subject(s), "
        f"{study.t_h.size} time points to {study.t_h[-1]:g} h; outputs {sizes['output_mb']:.1f} MB, "
        f"{sizes['nodes_estimate']:,} integration nodes (estimate) per arm"
    )
    return 0


def _cmd_scenarios(args) -> int:
    from . import _toml  # noqa: PLC0415
    from . import scenario as sc  # noqa: PLC0415

    for name in sc.shipped_scenarios():
        path = sc.shipped_scenario_path(name)
        title = ""
        try:
            title = _toml.parse(path.read_text(encoding="utf-8"), path.name).get("title", "")
        except (OSError, PharmsimError):
            pass
        print(f"{name:28s} {title}")
    return 0


def _print_frame(frame, columns: Sequence[str]) -> None:
    cols = [c for c in columns if c in frame.columns]
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 250,
                           "display.max_colwidth", 70):
        print(frame[cols].to_string(index=False))


def _cmd_compounds(args) -> int:
    from .catalog import catalog  # noqa: PLC0415

    cat = catalog(_library())
    caps = cat.capabilities()
    masses = {c.id: c.molar_mass_g_per_mol for c in cat.library.compounds()}
    caps.insert(2, "molar_mass_g_per_mol", caps["compound"].map(masses))
    _print_frame(caps, ["compound", "name", "molar_mass_g_per_mol", "dose", "human_pk", *cat.receptors(), "curve_at",
                        "comparison"])
    print("\ndose: the compound can be dosed (human PK in the library); curve_at: receptors at which equilibrium "
          "curves can be drawn (pharmsim curve); comparison: its role in the kratom comparison (reference agonist, "
          "reversal antagonist, kratom alkaloid). '-': no affinity there. K: the equilibrium constant in use and "
          "what it is (pharmsim sources Ki ... lists the others).\n\nWhat each compound cannot do, and why:")
    for _, r in caps[caps["cannot"] != "-"].iterrows():
        print(f"  {r['compound']}: {r['cannot']}")
    return 0


_SOURCE_COLUMNS = ("compound", "target", "pathway", "quantity", "value", "unit", "basis", "species", "assay", "source",
                   "doi", "status", "preferred")


def _cmd_sources(args) -> int:
    library = _library()
    compound = library.compound(args.compound).id if args.compound else None
    table = library.sources(args.parameter, compound=compound, target=args.target, pathway=args.pathway)
    if len(table) == 0:
        where = ", ".join(f"{k}={v}" for k, v in (("compound", compound), ("target", args.target),
                                                    ("pathway", args.pathway)) if v)
        raise PharmsimError(f"the library holds no value of {args.parameter!r}{' for ' + where if where else ''}")
    _print_frame(table, _SOURCE_COLUMNS + (("note",) if args.notes else ()))
    print(f"\n{len(table)} row(s); preferred = True marks the default. Status: seen | check | derived | assumption.")
    return 0


def _cmd_curve(args) -> int:
    library = _library()
    out = Path(args.out)
    check_out(out, args.force)
    with atomic_output_dir(out, force=args.force) as tmp:
        written = write_curves(tmp, receptor=args.receptor, ligands=args.ligands, library=library,
                               endpoint=args.endpoint, reference=args.reference, dor_efficacy=args.dor_efficacy,
                               affinity=args.affinity)
    _say(args, f"pharmsim: wrote {len(written)} files to {out}/")
    _say(args, DISCLAIMER)
    return 0


def default_source_keys(model, library=None, *, min_sources: int = 2) -> list[tuple]:
    """``('K', compound, receptor)`` of every ligand of ``model`` whose K has at least ``min_sources`` published
    sources: what ``pharmsim bands`` varies when no ``--key`` is given."""
    from .sources import source_candidates  # noqa: PLC0415

    keys = []
    for lig in model.ligands:
        key = ("K", lig.name, lig.receptor)
        try:
            n = len(source_candidates(key, library).sources)
        except PharmsimError:             # a ligand with one value or none: nothing to vary
            continue
        if n >= min_sources and key not in keys:
            keys.append(key)
    return keys


def write_source_bands(out_dir: Path, study, *, keys=None, arm: str | None = None, max_runs: int = 256,
                       seed: int | None = None, library=None) -> list[Path]:
    """``pharmsim bands``: :func:`pharmsim.sources.across_sources` for one arm of a study, written to ``out_dir``
    (bands.csv, runs.csv, influence.csv, main_effects.csv, a band figure per response and per concentration,
    report.html). Every run is one typical subject (no population)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import report  # noqa: PLC0415
    from .sources import across_sources  # noqa: PLC0415

    names = [a.name for a in study.arms]
    if arm is None:
        chosen = study.arms[0]
    else:
        match = [a for a in study.arms if a.name == arm]
        if not match:
            raise PharmsimError(f"--arm {arm!r} is not an arm of the scenario{suggest(arm, names)}; arms: {names}")
        chosen = match[0]
    lib = library if library is not None else _library()
    if not keys:
        keys = default_source_keys(study.model.build(chosen.doses, lib), lib)
        if not keys:
            raise PharmsimError("no ligand of this scenario's model has a K with two or more published sources; "
                                "give the quantities to vary with --key QUANTITY COMPOUND TARGET [PATHWAY]")
    if seed is None:
        import math  # noqa: PLC0415

        from .sources import source_candidates  # noqa: PLC0415

        total = math.prod(len(source_candidates(k, lib).sources) for k in keys)
        if total > max_runs:
            raise PharmsimError(f"there are {total:,} combinations of sources, more than --max-runs = {max_runs:,}: "
                                "give --seed N for a Latin-hypercube sample of --max-runs combinations, or raise "
                                "--max-runs")
    rng = None if seed is None else np.random.default_rng(seed)
    bands = across_sources(chosen.doses, study.t_h, keys, library=lib, model_options=study.model, max_runs=max_runs,
                           rng=rng)
    written = []
    for name, frame in (("bands.csv", bands.bands), ("runs.csv", bands.runs), ("influence.csv", bands.influence),
                        ("main_effects.csv", bands.main_effects)):
        written.append(write_csv(out_dir / "tables" / name, frame))
    series = bands.bands[["quantity", "compound", "receptor", "endpoint"]].drop_duplicates()
    series = series[series["quantity"].isin(("response", "plasma_conc"))]
    figures = []
    for q, c, r, e in series.itertuples(index=False):
        fig = bands.plot(q, c, r, e)
        png = report.figure_png(fig)
        plt.close(fig)
        label = "_".join(x for x in (q, c, r, e) if x not in ("-", "all"))
        fname = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label) + ".png"
        written.append(write_bytes(out_dir / "figures" / fname, png))
        figures.append(report.ReportFigure(name=f"figures/{fname}", png=png,
                                           caption=f"{q} ({':'.join(x for x in (c, r, e) if x not in ('-', 'all'))}) "
                                                   f"over {bands.n_runs} runs ({bands.design}): min-max band, outer "
                                                   "percentiles, and the run with every preferred source"))
    keys_text = "; ".join(k.label for k in bands.keys)
    doc = report.html_report(
        f"{study.title or study.name}: across published sources ({chosen.name})",
        summary=(f"The model of arm '{chosen.name}' run once per combination of the published sources of: "
                 f"{keys_text} ({bands.n_runs} runs, {bands.design}); one typical subject per run. The bands show "
                 "how far the published values disagree, not a probability. The influence table ranks, for each "
                 "scalar output, which choice of source moves it most (swing of the main effect, and its share "
                 "of the variance across runs)."),
        figures=figures,
        tables=[report.ReportTable(title="Which source moves which output", frame=bands.influence,
                                   caption="", csv="tables/influence.csv"),
                report.ReportTable(title="Runs", frame=bands.runs, caption="", csv="tables/runs.csv")],
        notes=list(bands.notes))
    written.append(write_text(out_dir / "report.html", doc))
    return written


def _cmd_bands(args) -> int:
    keys = []
    for k in args.keys or ():
        if len(k) not in (3, 4):
            raise PharmsimError(f"--key takes QUANTITY COMPOUND TARGET [PATHWAY], e.g. --key K MG MOR or --key tau "
                                f"7-OH-MG MOR 'G protein'; got {len(k)} value(s): {k}")
        keys.append(tuple(k))
    max_runs = _int_arg("--max-runs", args.max_runs, 1)
    seed = None if args.seed is None else _int_arg("--seed", args.seed, 0)
    study = _load(args.scenario, args)
    out = Path(args.out)
    check_out(out, args.force)
    with atomic_output_dir(out, force=args.force) as tmp:
        written = write_source_bands(tmp, study, keys=keys, arm=args.arm, max_runs=max_runs, seed=seed)
    _say(args, f"pharmsim: wrote {len(written)} files to {out}/ (report.html: bands and which source moves which "
               "output)")
    _say(args, DISCLAIMER)
    return 0


def _int_arg(name: str, value: str, minimum: int) -> int:
    """A command-line count: the text as an int, then :func:`pharmsim.validate.require_count`."""
    try:
        v = int(value)
    except ValueError:
        raise PharmsimError(f"{name} must be a whole number >= {minimum}; got {value!r}") from None
    return require_count(name, v, minimum=minimum)


def _cmd_validate(args) -> int:
    from .qualification import validate  # noqa: PLC0415

    check_out(args.out, args.force)
    table = validate(args.out, force=args.force)
    judged = table[table["result"] != "reference"]
    for sample in ("in-sample", "out-of-sample"):
        t = judged[judged["sample"] == sample]
        _say(args, f"pharmsim validate: {sample}: {int((t['result'] == 'pass').sum())} pass, "
                   f"{int((t['result'] == 'FAIL').sum())} fail")
    for _, r in judged[judged["result"] == "FAIL"].iterrows():
        _say(args, f"  FAIL ({r['sample']}): {r['quantity']}: simulated {r['simulated']:.3g}, observed "
                   f"{r['observed']:.3g} [{r['low']:.3g}, {r['high']:.3g}] {r['unit']} ({r['source']})")
    _say(args, f"pharmsim: wrote validation.html and validation.csv to {args.out}/")
    _say(args, DISCLAIMER)
    return 0


def _cmd_app(args) -> int:
    from .app.server import serve  # noqa: PLC0415 - Panel is imported only here (optional extra)

    rc = serve(args.host, args.port, args.open_browser, args.style)
    # The server has stopped and said so. Leave without interpreter finalisation: under load a C++ extension's
    # worker thread (loaded by the web stack) was seen to abort the process at exit ("terminate called without
    # an active exception", status -6) after a clean stop. Nothing is left to write.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


# --------------------------------------------------------------------------------------------------
# parser and entry point
# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``pharmsim`` command."""
    p = argparse.ArgumentParser(
        prog="pharmsim",
        description="Drug-receptor pharmacology simulator: kratom alkaloids (mitragynine, 7-hydroxymitragynine) "
                    "at mu and delta opioid receptors against full-agonist references. " + DISCLAIMER,
    )
    p.add_argument("--version", action="version", version=f"pharmsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def outputs(sp):
        sp.add_argument("--out", required=True, metavar="DIR", help="output folder (written atomically)")
        sp.add_argument("--force", action="store_true", help="replace DIR if it already exists")
        sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no messages")

    def overrides(sp):
        sp.add_argument("--set", action="append", dest="overrides", metavar="KEY=VALUE", default=[],
                        help="override a scenario key, checked like the file's keys, e.g. --set population.n=500 "
                             "--set arm[0].dose[0].amount_g=4 (repeatable; arrays of tables count from 0)")

    def figures(sp):
        sp.add_argument("--style", default="default", choices=("default", "classroom"),
                        help="figure style: default, or classroom (large fonts, thick lines, high contrast)")
        sp.add_argument("--conc-unit", default="nM", choices=("nM", "ng/mL"), dest="conc_unit",
                        help="unit of the plasma concentration figure (default nM)")
        sp.add_argument("--log-y", action="store_true", dest="log_y", help="plasma concentrations on a log axis")

    sp = sub.add_parser("run", help="run a scenario file: CSV tables, PNG figures, HTML report")
    sp.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file (or the name of a shipped scenario)")
    outputs(sp)
    overrides(sp)
    figures(sp)
    sp.set_defaults(func=_cmd_run)

    sp = sub.add_parser("demo", help="the main job: kratom alkaloids vs a full agonist at MOR and DOR")
    outputs(sp)
    overrides(sp)
    figures(sp)
    sp.set_defaults(func=_cmd_demo)

    sp = sub.add_parser("check", help="validate a scenario file without simulating")
    sp.add_argument("scenario", metavar="SCENARIO")
    overrides(sp)
    sp.set_defaults(func=_cmd_check)

    sp = sub.add_parser("scenarios", help="list the shipped example scenarios")
    sp.set_defaults(func=_cmd_scenarios)

    sp = sub.add_parser("compounds", help="list the compounds the library holds")
    sp.set_defaults(func=_cmd_compounds)

    sp = sub.add_parser("sources", help="every source for one parameter (Ki, EC50, CL, ...), with status")
    sp.add_argument("parameter", metavar="PARAMETER", help="quantity, e.g. Ki, EC50, Emax, CL, ka")
    sp.add_argument("--compound", help="compound id or alias, e.g. MG, 7-OH-MG, morphine")
    sp.add_argument("--target", help="receptor (MOR, DOR, KOR) or PK")
    sp.add_argument("--pathway", help="'G protein' or 'beta-arrestin'")
    sp.add_argument("--notes", action="store_true", help="also show the note column")
    sp.set_defaults(func=_cmd_sources)

    sp = sub.add_parser("curve", help="occupancy and concentration-response curves (PNG + CSV)")
    sp.add_argument("--receptor", required=True, help="MOR or DOR")
    sp.add_argument("--ligands", nargs="+", required=True, metavar="LIGAND", help="compound ids or aliases")
    sp.add_argument("--endpoint", default=None, help="endpoint for the response curves (default: all at the receptor)")
    sp.add_argument("--reference", default=None, help="ligand drawn as the full-agonist reference (thick black)")
    sp.add_argument("--dor-efficacy", default="default", dest="dor_efficacy",
                    help="'default' (the library's preferred source) or a source with a G-protein tau at DOR")
    sp.add_argument("--affinity", default="functional", choices=("functional", "in vitro", "binding"),
                    help="the K of each ligand: 'functional' (default: an in-vivo K_A anchored to a human C50 "
                         "where one is published, else the K_A from EC50 and tau of one assay), 'in vitro' (never "
                         "an in-vivo anchor) or 'binding' (the binding Ki)")
    outputs(sp)
    sp.set_defaults(func=_cmd_curve)

    sp = sub.add_parser("bands", help="literature-uncertainty bands: one run per combination of published sources",
                        description="Run one arm of a scenario once per combination of the published sources of "
                                    "chosen library quantities (pharmsim.across_sources; a Latin-hypercube sample when "
                                    "there are more than --max-runs) and write the bands, the runs, the table of "
                                    "which source moves which output, figures and report.html. Without --key: the K "
                                    "of every ligand with two or more published sources. " + DISCLAIMER)
    sp.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file (or the name of a shipped scenario)")
    sp.add_argument("--key", action="append", nargs="+", dest="keys", metavar="ITEM",
                    help="QUANTITY COMPOUND TARGET [PATHWAY] of the library to vary, e.g. --key K MG MOR, --key tau "
                         "7-OH-MG MOR 'G protein', --key CL MG PK (repeatable)")
    sp.add_argument("--arm", default=None, help="the arm to run (default: the first)")
    sp.add_argument("--max-runs", default="256", dest="max_runs",
                    help="largest full factorial design; beyond it a Latin-hypercube sample (needs --seed)")
    sp.add_argument("--seed", default=None, help="seed of the Latin-hypercube sample (numpy Generator)")
    outputs(sp)
    overrides(sp)
    sp.set_defaults(func=_cmd_bands)

    sp = sub.add_parser("validate", help="compare the defaults with published data (HTML + CSV report)",
                        description="Run every comparison of the model's defaults with published observations "
                                    "(pharmsim.qualification: in-sample and out-of-sample, failures shown) and write "
                                    "validation.html and validation.csv. " + DISCLAIMER)
    outputs(sp)
    sp.set_defaults(func=_cmd_validate)

    sp = sub.add_parser("app", help="the classroom web app: four lessons with sliders in the browser",
                        description="Serve pharmsim's lessons (occupancy and response; a partial agonist meets a full "
                                    "agonist; kratom from grams to receptors; a population, a titration, CYP3A4) as "
                                    "web pages on this computer until Ctrl-C. Needs the app extra: "
                                    'pip install -e ".[app]". ' + DISCLAIMER)
    sp.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0: every network "
                         "interface, for a classroom's devices)")
    sp.add_argument("--port", default="0", help="TCP port 0-65535 (default 0: a free port; the address is printed)")
    sp.add_argument("--open", action="store_true", dest="open_browser",
                    help="open the home page in the default web browser (default: open nothing)")
    sp.add_argument("--style", default="classroom", metavar="{classroom,default}",
                    help="page style: classroom (default; large fonts for a projector) or default (ordinary sizes)")
    sp.set_defaults(func=_cmd_app)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pharmsim`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PharmsimError as err:
        print(f"pharmsim: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except FileNotFoundError as err:
        print(f"pharmsim: error: file not found: {err.filename or err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("pharmsim: interrupted; nothing was written", file=sys.stderr)
        return 130
    except OSError as err:      # an input file that cannot be read; outputs are handled by pharmsim.output
        print(f"pharmsim: error: {err.strerror or err}: {err.filename or ''}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
