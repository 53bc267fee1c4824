"""W1 (../shared/bench/W1.md) written with pharmsim's public API, the way a user writes it.

The model is composed from public objects (:class:`pharmsim.PKModel` with :class:`pharmsim.CompoundPK` and a
:class:`pharmsim.Conversion`, :class:`pharmsim.Ligand` with its rate constants and efficacy,
:class:`pharmsim.Endpoint`, :func:`pharmsim.compose`), the doses are :func:`pharmsim.dose_list` events, the
population is a per-subject parameter table joined by parameter name, and the run is one call of
:func:`pharmsim.simulate`. Only the parameter values and the dose list (``w1_reference.TYPICAL``,
``population``, ``w1_doses``) come from the peers' files, so every tool does the same work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import pharmsim as ps

#: W1's compounds with pharmsim ids, and their W1 labels
COMPOUNDS = {"MG": "MG", "7-OH-MG": "OH", "morphine": "X"}
#: W1 output order -> (pharmsim quantity, compound, receptor, endpoint)
OUTPUT_SERIES = {
    "C_MG": ("plasma_conc", "MG", "-", "-"), "C_OH": ("plasma_conc", "7-OH-MG", "-", "-"),
    "C_X": ("plasma_conc", "morphine", "-", "-"), "E_mu": ("response", "all", "MOR", "mu"),
    "E_delta": ("response", "all", "DOR", "delta"),
    "Bm_MG": ("occupancy", "MG", "MOR", "-"), "Bm_OH": ("occupancy", "7-OH-MG", "MOR", "-"),
    "Bm_X": ("occupancy", "morphine", "MOR", "-"), "Bd_MG": ("occupancy", "MG", "DOR", "-"),
    "Bd_OH": ("occupancy", "7-OH-MG", "DOR", "-"), "Bd_X": ("occupancy", "morphine", "DOR", "-"),
}
#: W1 population parameter -> pharmsim parameter name
POPULATION_NAMES = {"CL": "MG.CL_L_per_h", "Vc": "MG.V_L", "ka": "MG.oral.ka_per_h", "CLm": "7-OH-MG.CL_L_per_h",
                    "fm": "7-OH-MG.fm"}
MW = {"MG": 398.5, "7-OH-MG": 414.5, "morphine": 285.3}


def model(p: dict) -> ps.Model:
    """The W1 model from the typical values ``p`` (``w1_reference.TYPICAL``)."""
    comps = (ps.CompoundPK("MG", MW["MG"], 2, (ps.Route("oral"),), effect_site=True),
             ps.CompoundPK("7-OH-MG", MW["7-OH-MG"], 1, (), effect_site=True),
             ps.CompoundPK("morphine", MW["morphine"], 1, (ps.Route("oral"),), effect_site=True))
    params = {
        "MG.CL_L_per_h": p["CL"], "MG.V_L": p["Vc"], "MG.Q_L_per_h": p["Q"], "MG.Vp_L": p["Vp"],
        "MG.fu": p["fu_MG"], "MG.ke0_per_h": p["ke0_MG"], "MG.oral.ka_per_h": p["ka"], "MG.oral.F": p["F"],
        "MG.oral.tlag_h": 0.0,
        "7-OH-MG.CL_L_per_h": p["CLm"], "7-OH-MG.V_L": p["Vm"], "7-OH-MG.fu": p["fu_OH"],
        "7-OH-MG.ke0_per_h": p["ke0_OH"], "7-OH-MG.fm": p["fm"],
        "morphine.CL_L_per_h": p["CLx"], "morphine.V_L": p["Vx"], "morphine.fu": p["fu_X"],
        "morphine.ke0_per_h": p["ke0_X"], "morphine.oral.ka_per_h": p["kax"], "morphine.oral.F": p["F_X"],
        "morphine.oral.tlag_h": 0.0,
    }
    pk = ps.PKModel(comps, (ps.Conversion("MG", "7-OH-MG"),), params)
    ligands = []
    for r, tag in (("MOR", "m"), ("DOR", "d")):
        for cid, w in COMPOUNDS.items():
            kon, koff = p[f"kon_{tag}_{w}"], p[f"koff_{tag}_{w}"]
            lig = ps.Ligand(cid, koff / kon, p[f"tau_{tag}_{w}"], receptor=r)
            ligands.append(lig.with_kinetics(koff, kon, source="W1"))
    endpoints = (ps.Endpoint("mu", "MOR", gain=1.0, Em=p["Em"]), ps.Endpoint("delta", "DOR", gain=1.0, Em=p["Em"]))
    return ps.compose(pk, ligands, endpoints, binding="kinetic")


def doses(w1_doses) -> ps.Doses:
    """W1's dose list ``[(time_h, depot, nmol)]`` as pharmsim oral doses (F applied by the route)."""
    compound = {"Ag": "MG", "Mg": "morphine"}
    out = ps.Doses()
    for t, depot, amount in w1_doses:
        out = out + ps.dose(compound[depot], amount, t, unit="nmol", route="oral", molar_mass_g_per_mol=1.0)
    return out


def population_table(pop: dict) -> pd.DataFrame:
    """W1's per-subject draws as a table of pharmsim parameter names (mrgsolve's idata)."""
    return pd.DataFrame({POPULATION_NAMES[k]: np.asarray(v) for k, v in pop.items()})


OUTPUTS = ps.Outputs(quantities=("plasma_conc", "occupancy", "response"))


def as_w1_array(result: ps.Result, names) -> np.ndarray:
    """The result as W1's (N, T, 11) array in the order ``names`` (``w1_reference.OUTPUTS``)."""
    cols = []
    for n in names:
        q, c, r, e = OUTPUT_SERIES[n]
        cols.append(result.get(q, None if c == "all" else c, None if r == "-" else r, None if e == "-" else e))
    return np.stack(cols, axis=-1)
