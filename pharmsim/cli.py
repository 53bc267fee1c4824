"""The ``pharmsim`` command: run scenarios, the demo, library look-ups and receptor curves.

Subcommands::

    pharmsim run SCENARIO --out DIR [--force] [--quiet]   tables, figures and an HTML report
    pharmsim demo --out DIR [--force] [--quiet]           the main job on the shipped demo scenario
    pharmsim check SCENARIO                               validate a scenario file, simulate nothing
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
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._version import __version__
from .output import atomic_output_dir, check_out, write_bytes, write_csv, write_text
from .validate import PharmsimError

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
tables/population.csv        (populations) each virtual subject's covariates and random effects
tables/subjects.csv          (only with output.per_subject_csv = true) every subject's tidy time course
figures/*.png                the figures shown in the report

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


def write_study(sr, out_dir: Path) -> list[Path]:
    """Write a :class:`pharmsim.study.StudyResult` into ``out_dir`` (inside an open
    :func:`pharmsim.output.atomic_output_dir`): the tables, the figures, the scenario, a README and the HTML
    report. Returns the files written."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import report  # noqa: PLC0415
    from .plots import study_figures  # noqa: PLC0415

    study = sr.study
    out_dir = Path(out_dir)
    written: list[Path] = []
    summary = sr.summary_table()
    doses = sr.dose_table()
    nca = sr.nca_table()
    endpoints = sr.endpoint_table()
    params = sr.parameter_table()
    prov = sr.provenance_table()
    tables = {"summary.csv": summary, "doses.csv": doses, "nca.csv": nca, "endpoints.csv": endpoints,
              "parameters.csv": params, "library_provenance.csv": prov}
    pops = sr.population_table()
    if len(pops):
        tables["population.csv"] = pops
    if study.per_subject_csv:
        tables["subjects.csv"] = sr.tidy()
    for name, frame in tables.items():
        written.append(write_csv(out_dir / "tables" / name, frame))
    figures: list[report.ReportFigure] = []
    if study.figures:
        for name, fig, caption in study_figures(sr):
            png = report.figure_png(fig)
            plt.close(fig)
            written.append(write_bytes(out_dir / "figures" / name, png))
            figures.append(report.ReportFigure(name=f"figures/{name}", png=png, caption=caption))
    if study.text:
        written.append(write_text(out_dir / "scenario.toml", study.text))
    title = study.title or study.name
    written.append(write_text(out_dir / "README.txt", README_TEMPLATE.format(version=__version__, title=title,
                                                                              disclaimer=DISCLAIMER)))
    if study.report:
        doc = report.html_report(title, summary=_report_summary(sr), figures=figures,
                                 tables=_report_tables(doses, nca, endpoints), parameters=params, provenance=prov,
                                 scenario_text=study.text, notes=sr.notes)
        written.append(write_text(out_dir / "report.html", doc))
    return written


def _report_summary(sr) -> str:
    study = sr.study
    lines = [" ".join(study.description.split())] if study.description else []
    n = sr.n_subjects
    t = study.t_h
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    m = next(iter(sr.models.values()))
    lines.append(
        f"{len(sr.models)} arm(s) simulated on {'one typical adult' if n == 1 else f'{n} virtual adults'} from "
        f"{t[0]:g} to {t[-1]:g} h (output every {step:g} h); receptors {', '.join(m.receptors)}; binding "
        f"{', '.join(f'{r}: {b}' for r, b in m.binding.items())}; tolerance "
        f"{'on (' + m.tolerance.mechanism + ')' if m.tolerance is not None else 'off'}."
    )
    for arm in study.arms:
        lines.append(f"Arm '{arm.name}': {'; '.join(arm.dose_labels) or f'{arm.doses.n_events} dosing event(s)'}."
                     + (f" {arm.description}" if arm.description else ""))
    return "\n\n".join(lines)


def _report_tables(doses: pd.DataFrame, nca: pd.DataFrame, endpoints: pd.DataFrame):
    from .report import ReportTable  # noqa: PLC0415

    tables = []
    if len(endpoints):
        ep = (endpoints.groupby(["arm", "receptor", "endpoint"], sort=False)
              .agg(peak_response_median=("peak_response", "median"),
                   peak_response_p05=("peak_response", lambda x: x.quantile(0.05)),
                   peak_response_p95=("peak_response", lambda x: x.quantile(0.95)),
                   time_of_peak_h_median=("time_of_peak_h", "median"),
                   response_at_end_median=("response_at_end", "median"))
              .reset_index())
        tables.append(ReportTable("Endpoints", ep, "Peak response (fraction of the endpoint's maximum Em) per arm: "
                                  "median and 5-95 % range over subjects.", csv="tables/endpoints.csv"))
    if len(nca):
        keys = ["arm", "compound", "statistic", "unit"]
        t = nca.groupby(keys, sort=False)["value"].median().reset_index().rename(columns={"value": "median"})
        tables.append(ReportTable("Plasma NCA", t, "Non-compartmental statistics of total plasma concentrations "
                                  "(median over subjects).", csv="tables/nca.csv"))
    if len(doses):
        d = doses[doses["subject"] == 0].drop(columns=["subject"])
        tables.append(ReportTable("Doses", d, "Every dosing event (subject 0).", csv="tables/doses.csv"))
    return tables


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
    from .validate import require_choice, suggest  # noqa: PLC0415

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
        "ligands.csv   each ligand at each endpoint: the K in use (K_nM, K_kind) beside the binding Ki,\n"
        "              efficacy, tau,\n"
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
    from . import scenario as sc  # noqa: PLC0415

    return _run_study(sc.load(args.scenario, library=_library()), args)


def _cmd_demo(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    return _run_study(sc.load(sc.shipped_scenario_path("demo"), library=_library()), args)


def _run_study(study, args) -> int:
    from .study import run_study  # noqa: PLC0415

    out = Path(args.out)
    check_out(out, args.force)                 # a refusal costs nothing: before any simulation
    study.check()
    total = study.population.n * len(study.arms)
    bar = _Progress(total, _progress_enabled(args.quiet) and total > 1, f"pharmsim {study.name}")
    try:
        sr = run_study(study, progress=bar.update)
    finally:
        bar.close()
    for note in sr.notes:
        _say(args, f"  - {note}")
    with atomic_output_dir(out, force=args.force) as tmp:
        written = write_study(sr, tmp)
    _say(args, f"pharmsim: wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    _say(args, DISCLAIMER)
    return 0


def _cmd_check(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    study = sc.load(args.scenario, library=_library())
    sizes = study.check()
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
    _print_frame(caps, ["compound", "name", "molar_mass_g_per_mol", "dose", "human_pk", *cat.receptors(), "curve"])
    print("\ndose: the compound can be dosed (human PK in the library); curve: equilibrium curves can be drawn "
          "at some receptor (pharmsim curve). '-': no affinity there. What is missing is said in the column.")
    return 0


_SOURCE_COLUMNS = ("compound", "target", "pathway", "quantity", "value", "unit", "species", "assay", "source",
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

    sp = sub.add_parser("run", help="run a scenario file: CSV tables, PNG figures, HTML report")
    sp.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file (or the name of a shipped scenario)")
    outputs(sp)
    sp.set_defaults(func=_cmd_run)

    sp = sub.add_parser("demo", help="the main job: kratom alkaloids vs a full agonist at MOR and DOR")
    outputs(sp)
    sp.set_defaults(func=_cmd_demo)

    sp = sub.add_parser("check", help="validate a scenario file without simulating")
    sp.add_argument("scenario", metavar="SCENARIO")
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
    sp.add_argument("--affinity", default="functional", choices=("functional", "binding"),
                    help="the K of each ligand: the functional K_A (EC50 and tau of one assay; default) or the "
                         "binding Ki")
    outputs(sp)
    sp.set_defaults(func=_cmd_curve)
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
