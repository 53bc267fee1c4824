"""Execute every teaching notebook in notebooks/ from a clean kernel and fail on any error.

Each notebook runs top to bottom in a fresh ``python3`` kernel (the interpreter running pytest, so the
package under test is the one imported), with the working directory set to notebooks/ and the
non-interactive matplotlib backend. Outputs are not written back: the notebooks are stored without
outputs so the repository stays small and diffs stay readable; a second test checks that.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
TIMEOUT_S = 120  # budget for a whole notebook (each is meant to run in < 60 s on two cores)


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{path.name}: code cells {with_outputs} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    # The kernel inherits this environment: headless plotting, and the repository root on the path so
    # the package under test is importable whether or not it is pip-installed (-e).
    monkeypatch.setenv("MPLBACKEND", "Agg")
    root = str(NOTEBOOK_DIR.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    nb = nbformat.read(path, as_version=4)
    deadline = time.monotonic() + TIMEOUT_S
    client = nbclient.NotebookClient(
        nb,
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),  # what is left of the budget
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:  # the message shows the cell and the traceback
        pytest.fail(f"{path.name} failed:\n{err}")
