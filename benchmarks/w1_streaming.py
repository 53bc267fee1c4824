"""W1 population summaries past memory: pharmsim.simulate(..., summaries=) at N = 10^6, locally and on a Dask
LocalCluster with 1 and 2 worker processes, in one run (issue 18).

    python benchmarks/w1_streaming.py                     # N = 1,000,000 (about half an hour for all three)
    python benchmarks/w1_streaming.py --n 100000          # a quicker look

Each configuration runs in a fresh subprocess, so its peak memory (max RSS of the process and, for the
cluster, of every worker process) is its own. The model, doses and population are W1's (``w1_pharmsim.py``,
``../shared/bench``); the summaries are per-time mean, SD, 5th/50th/95th percentiles (DDSketch, relative
error 1 %), per-subject Cmax/Tmax/AUC/nadir of the 11 W1 outputs and 10 sampled trajectories. The three
results are compared: they must agree to 1e-12.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "bench"


def run(n: int, mode: str, chunk: int) -> dict:
    sys.path[:0] = [str(BENCH), str(HERE)]
    import numpy as np
    import w1_pharmsim as w1ps
    import w1_reference as ref

    import pharmsim
    from pharmsim.summaries import Summaries

    t0 = time.perf_counter()
    model = w1ps.model(ref.TYPICAL)
    doses = w1ps.doses(ref.w1_doses("B"))
    table = w1ps.population_table(ref.population(n, 2024))
    spec = Summaries(quantiles=(5.0, 50.0, 95.0), n_sampled=10, quantile_error=0.01)
    kw = dict(population=table, outputs=w1ps.OUTPUTS, summaries=spec, chunk_size=chunk, max_output_mb=3500)
    worker_rss = []
    if mode == "local":
        res = pharmsim.simulate(model, doses, ref.GRID_H, **kw)
    else:
        from distributed import Client, LocalCluster

        workers = int(mode.split("-")[1])
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          memory_limit="3.5GB") as cluster, Client(cluster) as client:
            res = pharmsim.simulate(model, doses, ref.GRID_H, scheduler=client, **kw)
            worker_rss = [v for v in client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values()]
    dt = time.perf_counter() - t0
    labels = ["plasma_conc/MG/-/-", "occupancy/7-OH-MG/MOR/-", "response/all/MOR/mu"]
    stats = {lab: {s: res.get(lab, s).tolist() for s in ("mean", "sd", "p5", "p50", "p95")} for lab in labels}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "n": n, "seconds": dt, "max_rss_MiB": rss,
            "worker_max_rss_MiB": [x / 1024 for x in worker_rss], "stats": stats,
            "cmax_sum": float(np.nansum(res.scalars()["Cmax"]))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=5_000)
    ap.add_argument("--modes", nargs="+", default=["local", "cluster-1", "cluster-2"])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run(args.n, args.one, args.chunk)))
        return
    out = []
    for mode in args.modes:
        r = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--chunk", str(args.chunk), "--one", mode],
                           capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
        line = [x for x in r.stdout.splitlines() if x.startswith("{")]
        if r.returncode or not line:
            print(r.stderr[-3000:])
            raise SystemExit(f"{mode} failed")
        out.append(json.loads(line[-1]))
        o = out[-1]
        print(f"{mode:10s} N = {o['n']:,}: {o['seconds']:8.1f} s; max RSS {o['max_rss_MiB']:,.0f} MiB"
              + (f"; workers {', '.join(f'{x:,.0f}' for x in o['worker_max_rss_MiB'])} MiB" if o["worker_max_rss_MiB"]
                 else ""), flush=True)
    import numpy as np

    base = out[0]["stats"]
    worst = 0.0
    for o in out[1:]:
        for lab, st in o["stats"].items():
            for s, v in st.items():
                a, b = np.asarray(base[lab][s]), np.asarray(v)
                worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300))))
    print(f"largest relative difference between the configurations' summaries: {worst:.1e} (issue 18 asks 1e-12)")


if __name__ == "__main__":
    main()
