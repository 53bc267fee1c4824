"""Shared helper of the tools/derive_*.py scripts (not a derivation itself): write rows into data/pk_derived.csv.

Each script owns the rows whose note names it (``tools/<script>.py``); re-running a script replaces exactly
those rows and keeps every other row. Columns are the shared data schema of pharmsim's data/*.csv.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["compound", "target", "pathway", "quantity", "value", "unit", "species", "assay", "source", "doi",
           "status", "preferred", "note"]
PATH = Path(__file__).resolve().parents[1] / "data" / "pk_derived.csv"


def row(compound, target, quantity, value, unit, *, species="human", assay="-", source, doi="-", status,
        preferred=1, note, pathway="-"):
    return {"compound": compound, "target": target, "pathway": pathway, "quantity": quantity, "value": value,
            "unit": unit, "species": species, "assay": assay, "source": source, "doi": doi, "status": status,
            "preferred": int(preferred), "note": note}


def write_rows(rows: list[dict], script: str, path: Path = PATH) -> pd.DataFrame:
    """Replace the rows owned by ``script`` (note contains ``tools/<script>``) with ``rows``; return the table."""
    tag = f"tools/{script}"
    for r in rows:
        if tag not in r["note"]:
            r["note"] = f"{r['note']} [{tag}]"
    old = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else pd.DataFrame(columns=COLUMNS)
    keep = old[~old["note"].str.contains(tag, regex=False)]
    for r in rows:
        if isinstance(r["value"], float):
            r["value"] = f"{r['value']:.6g}"
    new = pd.DataFrame(rows, columns=COLUMNS).astype(str)
    out = pd.concat([keep, new], ignore_index=True)
    out = out.sort_values(["compound", "target", "quantity", "source"], kind="stable").reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return out
