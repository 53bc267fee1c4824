"""Execute every teaching notebook in notebooks/ from a clean kernel, on both paths, and fail on any error.

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
TIMEOUT_S = 120  # budget for a whole notebook (each runs in < 60 s on two cores: 3-20 s measured, either path)


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{path.name}: code cells {with_outputs} carry outputs; clear them before committing"


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


PATHS = ["sliders", "static"]


@pytest.mark.parametrize("slider_path", PATHS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, slider_path, monkeypatch, tmp_path):
    """Both paths of every notebook: with ipywidgets (the sliders run once at their initial values, through
    pharmsim.notebook.interact) and without it (ipywidgets hidden from the kernel: the static figures)."""
    # The kernel inherits this environment: headless plotting, and the repository root on the path so
    # the package under test is importable whether or not it is pip-installed (-e).
    monkeypatch.setenv("MPLBACKEND", "Agg")
    root = str(NOTEBOOK_DIR.parent)
    paths = [root, os.environ.get("PYTHONPATH")]
    if slider_path == "sliders":
        if not _has_ipywidgets():
            pytest.skip("ipywidgets is not installed (pip install -e '.[test]' brings it)")
    else:  # a package named ipywidgets that cannot be imported hides the real one from the kernel
        shadow = tmp_path / "no_widgets"
        (shadow / "ipywidgets").mkdir(parents=True)
        (shadow / "ipywidgets" / "__init__.py").write_text("raise ImportError('hidden by the test: static path')\n")
        paths.insert(0, str(shadow))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
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
        pytest.fail(f"{path.name} ({slider_path}) failed:\n{err}")
    said = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout")
    if "interactive sliders:" in said:      # the notebook took the path the test asked for
        assert ("interactive sliders: on" in said) == (slider_path == "sliders"), said[:300]
    if slider_path == "sliders" and "ps.notebook.interact(" in "".join(c.source for c in nb.cells):
        widgets = [o for c in nb.cells for o in c.get("outputs", [])
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert widgets, f"{path.name}: no slider was displayed"
