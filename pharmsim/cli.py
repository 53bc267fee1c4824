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
message on stderr and exit with status 2, without a traceback. Output folders are written in a temporary
folder beside the target and renamed into place only when complete; an existing folder is replaced only
with ``--force``.

Not for: any science (the command only wires scenario -> model -> files). Teaching and research, not dosing
advice.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._version import __version__
from .validate import PharmsimError

__all__ = ["main", "build_parser", "atomic_output_dir"]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."
EXIT_USER_ERROR = 2


# --------------------------------------------------------------------------------------------------
# atomic output folders
# --------------------------------------------------------------------------------------------------


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise PharmsimError(f"--out {str(out)!r} exists and is not a folder; expected a folder path")
    if out.exists() and not force:
        raise PharmsimError(
            f"output folder {str(out)!r} already exists; use --force to replace it, or choose another --out"
        )


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out``; renamed to ``out`` when the block completes without error.

    On an error the temporary folder is removed and ``out`` is left exactly as it was (absent, or the old
    folder). With ``force`` an existing ``out`` is replaced; without it an existing ``out`` is an error
    raised before anything is written.
    """
    out = Path(out)
    _check_target(out, force)
    created: list[Path] = []
    parent = out.absolute().parent
    for p in [parent, *parent.parents]:
        if p.exists():
            break
        created.append(p)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; the result should look like any other folder
    except OSError as err:
        raise PharmsimError(f"cannot create output folder beside {str(out)!r}: {err.strerror or err}") from None
    try:
        yield tmp
        _check_target(out, force)  # it may have appeared while we worked
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / out.name)
            try:
                os.replace(tmp, out)
            except OSError:
                os.replace(old / out.name, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in created:  # innermost first; only folders we made and that are still empty
            with contextlib.suppress(OSError):
                p.rmdir()
        raise


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


def simulate_scenario(scen, *, library=None, show_progress: bool = False):
    """Simulate every arm of ``scen``: ``(inputs, {arm: Model}, {arm: Result})``."""
    from . import scenario as sc  # noqa: PLC0415
    from .model import build_model, simulate  # noqa: PLC0415

    inputs = sc.to_model_inputs(scen, library)
    models, results = {}, {}
    for arm in inputs.arms:
        model = build_model(arm.doses, library=inputs.library, **arm.build_kwargs)
        if arm.population is not None:
            params = arm.population.parameters(model.pk.parameters, strict=False)
            model = model.with_pk(model.pk.with_parameters(params))
        models[arm.name] = model
    total = sum(m.n_subjects for m in models.values())
    bar = _Progress(total, show_progress and total > 1, f"pharmsim {scen.name}")
    try:
        for name, model in models.items():
            results[name] = simulate(model, inputs.t_h, progress=bar.update)
    finally:
        bar.close()
    return inputs, models, results


def _with_arm(frame: pd.DataFrame, arm: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "arm", arm)
    return frame


def _concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summary_table(results: dict) -> pd.DataFrame:
    """Population summary of every arm (median, 5th and 95th percentiles) in one tidy table."""
    frames = []
    for arm, res in results.items():
        df = res.summary(lower=5.0, upper=95.0).rename(columns={"p5": "p05"})
        frames.append(_with_arm(df, arm))
    out = _concat(frames)[SUMMARY_COLUMNS]
    values = out[["time_h", "median", "p05", "p95"]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise PharmsimError("the simulation produced non-finite values (NaN or inf); nothing was written")
    return out


def _dose_table(models: dict, library) -> pd.DataFrame:
    frames = []
    for arm, model in models.items():
        df = model.doses.to_frame()
        mw = {c: library.compound(c).molar_mass_g_per_mol for c in set(df["compound"])}
        df["amount_mg"] = df["amount_nmol"] * df["compound"].map(mw) / 1e6
        frames.append(_with_arm(df, arm))
    return _concat(frames)


def _parameter_table(models: dict) -> pd.DataFrame:
    """PK and PD parameters of every arm's model, with sources (typical values; one row per distinct value)."""
    from .pk import parameter_table as pk_table  # noqa: PLC0415

    frames = []
    for arm, model in models.items():
        pd_t = model.parameter_table()
        pd_t.insert(0, "kind", "PD")
        pk_t = pk_table(model.pk).copy()
        pk_t["compound"] = pk_t["parameter"].str.split(".").str[0]
        pk_t["receptor"] = "-"
        pk_t["unit"] = pk_t["parameter"].map(_unit_from_name)
        pk_t["value"] = [float(np.median(np.asarray(v, dtype=float))) for v in pk_t["value"]]
        pk_t.insert(0, "kind", "PK")
        for frame in (pk_t, pd_t):
            frame["arms"] = str(arm)
        frames += [pk_t, pd_t]
    out = _concat(frames)
    cols = ["kind", "compound", "receptor", "parameter", "value", "unit", "source"]
    out = out[[c for c in [*cols, "arms"] if c in out.columns]]
    # one row per distinct value and source, with the arms that use it: a parameter that differs between
    # arms (a what-if value, another source) shows every value, never only the first arm's
    keys = [c for c in cols if c in out.columns]
    return (out.groupby(keys, sort=False, dropna=False)["arms"]
            .agg(lambda a: "; ".join(dict.fromkeys(a))).reset_index())


def _unit_from_name(name: str) -> str:
    short = str(name).rsplit(".", 1)[-1]
    for suffix, unit in (("_L_per_h", "L/h"), ("_per_h", "1/h"), ("_L", "L"), ("_h", "h")):
        if short.endswith(suffix):
            return unit
    return "fraction" if short in ("fu", "F", "fm") or short.startswith("fpre") else "-"


def _provenance(models: dict, library) -> pd.DataFrame:
    compounds = sorted({c for m in models.values() for c in m.compounds})
    t = library.provenance(compounds)
    endpoints = library.provenance(None)
    names = {ep.name for m in models.values() for ep in m.endpoints}
    endpoints = endpoints[(endpoints["compound"] == "-") & endpoints["target"].isin(names | {"MOR", "DOR"})]
    return pd.concat([t, endpoints], ignore_index=True)


def _footer(fig) -> None:
    """The teaching-and-research statement under the figure (space kept by the constrained layout)."""
    fig.supxlabel(DISCLAIMER, x=0.995, ha="right", fontsize=9, color="0.35")


def _panels(n: int, width: float = 6.0, height: float = 4.8, sharey: bool = False):
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt.subplots(1, n, figsize=(min(width * n, 20), height), squeeze=False, layout="constrained",
                        sharey=sharey)


def _median_band(ax, t_h, values, label: str, color: str) -> None:
    """Median over subjects (rows of ``values``) with the 5-95 % band when there is more than one subject."""
    if values.shape[0] > 1:
        lo, med, hi = np.percentile(values, [5, 50, 95], axis=0)
        ax.fill_between(t_h, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(t_h, med, color=color, lw=2.5, label=f"{label} (median)")
    else:
        ax.plot(t_h, values[0], color=color, lw=2.5, label=label)


def _has(result, quantity: str, **labels) -> bool:
    return quantity in result.quantities and bool(result.select(quantity, **labels))


def _dor_efficacy_note(models: dict) -> str:
    """What the figures must not hide: the efficacy of MG and 7-OH-MG at DOR in each arm, and its source."""
    found: dict[tuple, list] = {}
    for model in models.values():
        if "DOR" not in model.receptors:
            continue
        for lig in model.ligands_at("DOR"):
            if lig.compound in ("MG", "7-OH-MG"):
                tau = float(np.mean(lig.efficacy))
                key = (tau, str(lig.sources.get("efficacy", "")).split(" (")[0])
                found.setdefault(key, [])
                if lig.compound not in found[key]:
                    found[key].append(lig.compound)
    lines = []
    for (tau, src), compounds in found.items():
        kind = "competitive antagonist" if tau == 0 else "partial agonist"
        lines.append(f"{', '.join(compounds)}: {kind}{'s' if len(compounds) > 1 else ''}, tau {tau:g}\n({src})")
    return "\n".join(lines)


def scenario_figures(results: dict, models: dict) -> list[tuple[str, object, str]]:
    """``(file name, Figure, caption)`` of a scenario's results. Plots never solve: results are drawn as given."""
    from .plots import response_curves, style_axes, time_course  # noqa: PLC0415

    figs: list[tuple[str, object, str]] = []
    arms = list(results)
    pop = any(r.n_subjects > 1 for r in results.values())
    subject = None if pop else 0
    band = " (median and 5-95 % band over the virtual population)" if pop else " (one typical adult)"

    fig, axes = _panels(len(arms))
    for ax, arm in zip(axes[0], arms, strict=True):
        time_course(results[arm], "plasma_conc", subject=subject, ax=ax, title=arm)
    _footer(fig)
    figs.append(("plasma_conc.png", fig, "Total plasma concentrations (nM) by arm" + band))

    for receptor in ("MOR", "DOR"):
        have = [a for a in arms if _has(results[a], "occupancy", receptor=receptor)]
        if not have:
            continue
        fig, axes = _panels(len(have), sharey=True)
        for ax, arm in zip(axes[0], have, strict=True):
            time_course(results[arm], "occupancy", receptor=receptor, subject=subject, ax=ax,
                        title=f"{arm}: {receptor}")
            ax.set_ylim(bottom=0)
        _footer(fig)
        figs.append((f"occupancy_{receptor}.png", fig,
                     f"Fraction of {receptor} receptors occupied by each ligand (%), by arm" + band))

    for quantity, what in (("response", "Response"), ("desensitised", "Desensitised receptors"),
                           ("withdrawal", "Withdrawal read-out")):
        endpoints = list(dict.fromkeys(s.endpoint for r in results.values() if quantity in r.quantities
                                       for s in r.select(quantity)))
        if not endpoints:
            continue
        fig, axes = _panels(len(endpoints))
        for ax, ep in zip(axes[0], endpoints, strict=True):
            receptor, top = "", 0.0
            for i, arm in enumerate(arms):
                if _has(results[arm], quantity, endpoint=ep):
                    series = results[arm].select(quantity, endpoint=ep)[0]
                    receptor = series.receptor
                    top = max(top, 100.0 * float(np.max(series.values)))
                    _median_band(ax, results[arm].t_h, 100.0 * series.values, arm, f"C{i % 10}")
            title = f"{ep.replace('_', ' ')} ({receptor})"
            if receptor == "DOR" and top < 20:            # a small DOR signal would vanish on a 0-100 % scale
                ax.set_ylim(-0.05 * max(top * 1.3, 1.0), max(top * 1.3, 1.0))
                title += ": y axis zoomed"
            else:
                ax.set_ylim(-2, 102)
            style_axes(ax, title=title, xlabel="time (h)", ylabel=f"{what.lower()} (% of maximum)", legend=False)
            if receptor == "DOR" and (note := _dor_efficacy_note(models)):
                ax.text(0.98, 0.97, note, transform=ax.transAxes, fontsize=10, va="top", ha="right", color="0.2",
                        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7", "alpha": 0.9})
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=1 if max(map(len, labels)) > 40 else 3,
                   fontsize=12, frameon=False)
        _footer(fig)
        figs.append((f"{quantity}.png", fig, f"{what} of each endpoint (% of its maximum), all arms" + band))

    # equilibrium concentration-response curves of the ligands in the richest model: the ceilings
    from .comparison import ceiling_table  # noqa: PLC0415
    from .receptor import Endpoint, Ligand  # noqa: PLC0415

    richest = max(models.values(), key=lambda m: len(m.ligands))
    table = ceiling_table(richest)
    for ep_name, sub in table.groupby("endpoint", sort=False):
        row = sub.iloc[0]
        endpoint = Endpoint(ep_name, row.receptor, gain=row.gain, Em=row.Em, n=row.n)
        ligands = [Ligand(r.compound, r.K_nM, r.efficacy, receptor=r.receptor) for r in sub.itertuples()]
        fig, axes = _panels(1, width=9.0, height=6.0)
        response_curves(ligands, endpoint, ax=axes[0][0],
                        title=f"{ep_name.replace('_', ' ')} ({row.receptor}): concentration-response at equilibrium")
        _footer(fig)
        figs.append((f"curve_{ep_name}.png", fig,
                     f"Each ligand alone at {ep_name.replace('_', ' ')} (operational model; unbound nM): the "
                     "ceiling (Emax) of a partial agonist is marked; a zero-efficacy ligand is a flat line"))
    return figs


def run_scenario(scen, out_dir: Path, *, library=None, show_progress: bool = False) -> list[Path]:
    """Simulate ``scen`` and write every output into ``out_dir`` (which must exist and be empty).

    Returns the files written. Used inside :func:`atomic_output_dir` so that a failure leaves nothing.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import report  # noqa: PLC0415

    inputs, models, results = simulate_scenario(scen, library=library, show_progress=show_progress)
    lib = inputs.library
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir()
    written: list[Path] = []

    def write_csv(name: str, frame: pd.DataFrame) -> None:
        path = out_dir / "tables" / name
        frame.to_csv(path, index=False)
        written.append(path)

    summary = summary_table(results)
    doses = _dose_table(models, lib)
    nca = _concat(_with_arm(r.nca(), a) for a, r in results.items())
    endpoints = _concat(_with_arm(r.endpoint_summary(), a) for a, r in results.items())
    params = _parameter_table(models)
    prov = _provenance(models, lib)
    write_csv("summary.csv", summary)
    write_csv("doses.csv", doses)
    write_csv("nca.csv", nca)
    write_csv("endpoints.csv", endpoints)
    write_csv("parameters.csv", params)
    write_csv("library_provenance.csv", prov)
    pops = [a.population for a in inputs.arms if a.population is not None]
    if pops:
        write_csv("population.csv", _concat(_with_arm(a.population.table(), a.name) for a in inputs.arms
                                             if a.population is not None))
    if scen.output.per_subject_csv:
        write_csv("subjects.csv", _concat(_with_arm(r.tidy(), a) for a, r in results.items()))

    figures: list[report.ReportFigure] = []
    if scen.output.figures:
        (out_dir / "figures").mkdir()
        for name, fig, caption in scenario_figures(results, models):
            png = report.figure_png(fig)
            plt.close(fig)
            path = out_dir / "figures" / name
            path.write_bytes(png)
            written.append(path)
            figures.append(report.ReportFigure(name=f"figures/{name}", png=png, caption=caption))

    (out_dir / "scenario.toml").write_text(scen.text or "", encoding="utf-8")
    written.append(out_dir / "scenario.toml")
    title = scen.title or scen.name
    (out_dir / "README.txt").write_text(
        README_TEMPLATE.format(version=__version__, title=title, disclaimer=DISCLAIMER), encoding="utf-8")
    written.append(out_dir / "README.txt")

    if scen.output.report:
        notes = list(dict.fromkeys(n for m in models.values() for n in m.notes))
        doc = report.html_report(
            title,
            summary=_report_summary(scen, models),
            figures=figures,
            tables=_report_tables(doses, nca, endpoints),
            parameters=params,
            provenance=prov,
            scenario_text=scen.text,
            notes=notes,
        )
        (out_dir / "report.html").write_text(doc, encoding="utf-8")
        written.append(out_dir / "report.html")
    return written


def _report_summary(scen, models: dict) -> str:
    lines = [" ".join(scen.description.split())] if scen.description else []
    n = max(m.n_subjects for m in models.values())
    lines.append(
        f"{len(models)} arm(s) simulated on {'one typical adult' if n == 1 else f'{n} virtual adults'} from "
        f"{scen.time.start_h:g} to {scen.time.end_h:g} h (output every {scen.time.step_h:g} h); receptors "
        f"{', '.join(scen.model.receptors)}; binding {', '.join(f'{r}: {b}' for r, b in scen.model.binding.items())}; "
        f"tolerance {'on' if scen.model.tolerance else 'off'}."
    )
    for arm in scen.arms:
        doses = "; ".join(
            f"{d.amount:g} {d.unit} {d.what}{'' if d.is_product else ' ' + d.route} at "
            f"{_times(d.times_h)}" for d in arm.doses)
        if arm.events:
            doses += ("; " if doses else "") + "; ".join(f"event table {e.path.name} ({e.what})" for e in arm.events)
        lines.append(f"Arm '{arm.name}': {doses}." + (f" {arm.description}" if arm.description else ""))
    return "\n\n".join(lines)


def _times(times) -> str:
    if len(times) <= 4:
        return ", ".join(f"{t:g}" for t in times) + " h"
    return f"{len(times)} times from {times[0]:g} to {times[-1]:g} h"


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


_REFERENCE_AGONISTS = ("DAMGO", "fentanyl", "morphine", "SNC80")


def write_curves(out_dir: Path, *, receptor: str, ligands: Sequence[str], library=None, endpoint: str | None = None,
                 reference: str | None = None, dor_efficacy: str = "default", affinity: str = "functional"
                 ) -> list[Path]:
    """Occupancy and concentration-response curves (PNG + CSV) of ``ligands`` at ``receptor``, each alone.

    Ligand parameters (K, efficacy) are resolved exactly as the model does (:func:`pharmsim.model.build_model`):
    the same sources, the same functional affinity. Occupancy ``p = C/(C + K)``; response by the operational
    model ``E = Em tau^n C^n / ((K + C)^n + tau^n C^n)`` (Black & Leff 1983, doi:10.1098/rspb.1983.0093).
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import report  # noqa: PLC0415
    from .comparison import ceiling_table  # noqa: PLC0415
    from .dosing import dose  # noqa: PLC0415
    from .model import ENDPOINT_RECEPTOR, RECEPTORS, build_model  # noqa: PLC0415
    from .pk import DEFAULT_COMPOUNDS  # noqa: PLC0415
    from .plots import occupancy_curves, response_curves  # noqa: PLC0415
    from .receptor import Endpoint, Ligand, endpoint_response, hill_occupancy  # noqa: PLC0415
    from .scenario import _check_dor_source  # noqa: PLC0415
    from .validate import require_choice, suggest  # noqa: PLC0415

    lib = library if library is not None else _library()
    require_choice("--receptor", receptor, RECEPTORS)
    endpoints = [e for e, r in ENDPOINT_RECEPTOR.items() if r == receptor]
    if endpoint is not None:
        if endpoint not in endpoints:
            raise PharmsimError(f"--endpoint must be one of {', '.join(map(repr, endpoints))} at {receptor}; got "
                                f"{endpoint!r}{suggest(endpoint, endpoints)}")
        endpoints = [endpoint]
    ids = []
    for name in ligands:
        try:
            cid = lib.compound(name).id
        except PharmsimError as err:
            raise PharmsimError(f"--ligands: {err}") from None
        if cid not in DEFAULT_COMPOUNDS:
            raise PharmsimError(f"--ligands: {cid!r} cannot be drawn yet: its parameters are resolved through the "
                                f"model, which covers {', '.join(DEFAULT_COMPOUNDS)}")
        if cid not in ids:
            ids.append(cid)
    _check_dor_source("--dor-efficacy", dor_efficacy, lib)
    doses = None
    for cid in ids:
        d = dose(cid, 1.0, 0.0, unit="nmol", route="iv", library=lib)
        doses = d if doses is None else doses + d
    model = build_model(doses, receptors=(receptor,), binding="equilibrium", endpoints=endpoints, affinity=affinity,
                        dor_efficacy=None if dor_efficacy == "default" else dor_efficacy, library=lib)
    table = ceiling_table(model)
    table = table[table["compound"].isin(ids)].reset_index(drop=True)
    if table.empty:
        raise PharmsimError(f"none of {ids} has an affinity at {receptor} in the library")
    missing = [c for c in ids if c not in set(table["compound"])]
    first = table[table["endpoint"] == table["endpoint"].iloc[0]]
    ligs = [Ligand(r.compound, r.K_nM, r.efficacy, receptor=receptor) for r in first.itertuples()]
    if reference is None:
        reference = next((c for c in _REFERENCE_AGONISTS if c in [lig.name for lig in ligs]), None)
    elif reference not in [lig.name for lig in ligs]:
        raise PharmsimError(f"--reference must be one of the ligands drawn ({', '.join(lig.name for lig in ligs)}); "
                            f"got {reference!r}")
    out_dir = Path(out_dir)
    written: list[Path] = []
    lo = np.log10(min(lig.K_nM for lig in ligs)) - 3
    hi = np.log10(max(lig.K_nM for lig in ligs)) + 3
    conc = np.logspace(lo, hi, 300)

    def save(fig, name):
        _footer(fig)
        path = out_dir / name
        path.write_bytes(report.figure_png(fig))
        plt.close(fig)
        written.append(path)

    fig, axes = _panels(1, width=9.0, height=6.0)
    occupancy_curves(ligs, ax=axes[0][0], conc_range_nM=(conc[0], conc[-1]))
    save(fig, f"occupancy_{receptor}.png")
    rows = [{"quantity": "occupancy", "receptor": receptor, "endpoint": "-", "ligand": lig.name, "conc_nM": c,
             "value": v, "unit": "fraction"} for lig in ligs for c, v in zip(conc, hill_occupancy(conc, lig.K_nM),
                                                                             strict=True)]
    for ep_name, sub in table.groupby("endpoint", sort=False):
        row = sub.iloc[0]
        ep = Endpoint(ep_name, receptor, gain=row.gain, Em=row.Em, n=row.n)
        ep_ligs = [Ligand(r.compound, r.K_nM, r.efficacy, receptor=receptor) for r in sub.itertuples()]
        ref = next((lig for lig in ep_ligs if lig.name == reference), None)
        others = [lig for lig in ep_ligs if lig is not ref]
        fig, axes = _panels(1, width=9.0, height=6.0)
        response_curves(others, ep, reference=ref, ax=axes[0][0], conc_range_nM=(conc[0], conc[-1]))
        save(fig, f"response_{ep_name}.png")
        for lig in ep_ligs:
            E = endpoint_response(conc[:, None], [lig], ep) / ep.Em
            rows += [{"quantity": "response", "receptor": receptor, "endpoint": ep_name, "ligand": lig.name,
                      "conc_nM": c, "value": float(v), "unit": "fraction of Em"} for c, v in zip(conc, E, strict=True)]
    curves = pd.DataFrame(rows)
    curves.to_csv(out_dir / "curves.csv", index=False)
    table.to_csv(out_dir / "ligands.csv", index=False)
    written += [out_dir / "curves.csv", out_dir / "ligands.csv"]
    note = "" if not missing else f"\nNot drawn (no affinity at {receptor} in the library): {', '.join(missing)}\n"
    (out_dir / "README.txt").write_text(
        f"pharmsim {__version__}: occupancy and concentration-response curves at {receptor}\n\n{DISCLAIMER}\n\n"
        "curves.csv    quantity, receptor, endpoint, ligand, conc_nM (unbound, nM), value, unit\n"
        "ligands.csv   each ligand at each endpoint: K_nM, efficacy, tau, Emax, EC50_unbound_nM and their sources\n"
        "*.png         the figures\n" + note, encoding="utf-8")
    written.append(out_dir / "README.txt")
    return written


# --------------------------------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------------------------------


def _library():
    from .library import load_library  # noqa: PLC0415

    return load_library()


def _cmd_run(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    library = _library()
    scen = sc.load(args.scenario, library=library)
    return _run_scenario(scen, args, library)


def _cmd_demo(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    library = _library()
    scen = sc.load(sc.shipped_scenario_path("demo"), library=library)
    return _run_scenario(scen, args, library)


def _run_scenario(scen, args, library) -> int:
    out = Path(args.out)
    _check_target(out, args.force)
    with atomic_output_dir(out, force=args.force) as tmp:
        written = run_scenario(scen, tmp, library=library, show_progress=_progress_enabled(args.quiet))
    _say(args, f"pharmsim: wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    _say(args, DISCLAIMER)
    return 0


def _cmd_check(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    scen = sc.load(args.scenario, library=_library())
    n_doses = sum(len(d.times_h) for a in scen.arms for d in a.doses)
    print(
        f"{args.scenario}: OK — {len(scen.arms)} arm(s), {n_doses} dose(s), {scen.population.n} subject(s), "
        f"{len(scen.time.t_h())} time points to {scen.time.end_h:g} h"
    )
    return 0


def _cmd_scenarios(args) -> int:
    from . import scenario as sc  # noqa: PLC0415

    for name in sc.shipped_scenarios():
        path = sc.shipped_scenario_path(name)
        title = ""
        try:
            import tomllib  # noqa: PLC0415

            title = tomllib.loads(path.read_text(encoding="utf-8")).get("title", "")
        except (OSError, ValueError):
            pass
        print(f"{name:28s} {title}")
    return 0


def _print_frame(frame, columns: Sequence[str]) -> None:
    import pandas as pd  # noqa: PLC0415

    cols = [c for c in columns if c in frame.columns]
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 60):
        print(frame[cols].to_string(index=False))


def _cmd_compounds(args) -> int:
    import pandas as pd  # noqa: PLC0415

    rows = []
    for c in _library().compounds():
        rows.append({
            "id": c.id,
            "name": getattr(c, "name", ""),
            "molar_mass_g_per_mol": getattr(c, "molar_mass_g_per_mol", float("nan")),
            "aliases": ", ".join(getattr(c, "aliases", ()) or ()),
            "source": getattr(c, "source", ""),
            "doi": getattr(c, "doi", ""),
        })
    _print_frame(pd.DataFrame(rows), ["id", "name", "molar_mass_g_per_mol", "aliases", "source", "doi"])
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
    _check_target(out, args.force)
    with atomic_output_dir(out, force=args.force) as tmp:
        written = write_curves(tmp, receptor=args.receptor, ligands=args.ligands, library=library,
                               endpoint=args.endpoint, reference=args.reference, dor_efficacy=args.dor_efficacy)
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
                    help="'default' (the library's preferred source) or a source with a DOR tau for MG/7-OH-MG")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
