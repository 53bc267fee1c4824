"""W1 scaling checks of pharmsim.simulate (issue 12): time against the simulated horizon, and memory against
the size of the outputs, timed and measured as a user calls it (the public API).

    python benchmarks/w1_scaling.py                  # horizon 7 d vs 90 d at N = 1,000; memory at N = 10,000
    python benchmarks/w1_scaling.py --n-horizon 200 --n-memory 2000      # a quicker look

1. Horizon: W1's regimen (MG every 6 h; morphine at 72 h in arm B) continued for the whole horizon, outputs
   every 0.25 h, over 7 days and over 90 days. With the output grid growing with the horizon, linear cost is
   time(90 d) / time(7 d) = 90/7 = 12.9; issue 12 asks at most 1.3 x that.
2. Memory: N = 10,000 subjects, three output series (MOR occupancy by MG, 7-OH-MG and morphine: kinetic
   binding of all three is solved) on W1's 673-point grid. Reports the outputs' size, the peak traced
   allocation (tracemalloc, which
   sees numpy's buffers) and the process's max RSS; issue 12 asks < 500 MB and a peak <= 1.5 x the outputs
   beyond the fixed cost of the model.
Each measurement runs in a fresh subprocess so that its peak is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "bench"


def _setup():
    sys.path[:0] = [str(HERE.parent), str(BENCH), str(HERE)]


def horizon(n: int, days: float, repeats: int) -> dict:
    _setup()
    import numpy as np
    import w1_pharmsim as w1ps
    import w1_reference as ref

    import pharmsim

    end = 24.0 * days
    grid = np.round(np.arange(0.0, end + 1e-9, 0.25), 10)
    events = [(k * ref.MG_TAU_H, "Ag", ref.MG_DOSE_NMOL) for k in range(int(end // ref.MG_TAU_H) + 1)]
    events.append((ref.MORPHINE_TIME_H, "Mg", ref.MORPHINE_DOSE_NMOL))
    doses = w1ps.doses(sorted(events))
    pop = w1ps.population_table(ref.population(n, 2024))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = w1ps.model(ref.TYPICAL)
        pharmsim.simulate(model, doses, grid, population=pop, outputs=w1ps.OUTPUTS)
        best = min(best, time.perf_counter() - t0)
    return {"days": days, "n": n, "seconds": best, "outputs": int(grid.size)}


def memory(n: int) -> dict:
    _setup()
    import w1_pharmsim as w1ps
    import w1_reference as ref

    import pharmsim

    outputs = pharmsim.Outputs(quantities=("occupancy",), receptors=("MOR",))   # MG, 7-OH-MG, morphine at MOR
    model = w1ps.model(ref.TYPICAL)
    doses = w1ps.doses(ref.w1_doses("B"))
    pop = w1ps.population_table(ref.population(n, 2024))
    # one tiny run first: module imports and the one-time load of the compiled binding step (numba, about 40 MB of
    # Python objects) are not the run's working memory
    pharmsim.simulate(model, doses, ref.GRID_H[:9], population=pop.iloc[:2], outputs=outputs)
    tracemalloc.start()
    t0 = time.perf_counter()
    res = pharmsim.simulate(model, doses, ref.GRID_H, population=pop, outputs=outputs)
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out_bytes = 3 * n * ref.GRID_H.size * 8   # float64
    return {"n": n, "seconds": dt, "outputs_MB": out_bytes / 1e6, "peak_traced_MB": peak / 1e6,
            "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 * 1.048576,
            "series": len(res.series) if hasattr(res, "series") else -1}


def _sub(args: list[str]) -> dict:
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONWARNINGS="ignore"))
    line = [x for x in r.stdout.splitlines() if x.startswith("{")]
    if r.returncode or not line:
        raise SystemExit(f"{args} failed:\n{r.stderr[-3000:]}")
    return json.loads(line[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-horizon", type=int, default=1000)
    ap.add_argument("--n-memory", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        kind = a.one[0]
        res = horizon(int(a.one[1]), float(a.one[2]), int(a.one[3])) if kind == "horizon" else memory(int(a.one[1]))
        print(json.dumps(res))
        return
    short = _sub(["--one", "horizon", str(a.n_horizon), "7", str(a.repeats)])
    long = _sub(["--one", "horizon", str(a.n_horizon), "90", str(a.repeats)])
    ratio = long["seconds"] / short["seconds"]
    print(f"horizon, N = {a.n_horizon:,}: 7 d {short['seconds']:.2f} s ({short['outputs']} outputs), 90 d "
          f"{long['seconds']:.2f} s ({long['outputs']} outputs): ratio {ratio:.2f} (linear 12.9; issue 12 allows "
          f"{1.3 * 90 / 7:.1f})")
    m = _sub(["--one", "memory", str(a.n_memory)])
    print(f"memory, N = {a.n_memory:,}, 3 series x {673} outputs: outputs {m['outputs_MB']:.0f} MB, peak traced "
          f"{m['peak_traced_MB']:.0f} MB ({m['peak_traced_MB'] / m['outputs_MB']:.2f} x the outputs), max RSS "
          f"{m['max_rss_MB']:.0f} MB, {m['seconds']:.2f} s")


if __name__ == "__main__":
    main()
