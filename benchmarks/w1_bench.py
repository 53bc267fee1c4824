"""W1 benchmark: pharmsim.simulate against libroadrunner and a plain scipy loop, in one run (see README.md here).

    python benchmarks/w1_bench.py                     # N = 100, 1,000, 10,000; scipy loop timed on 100 subjects
    python benchmarks/w1_bench.py --full-peers        # time every peer on every subject (scipy: ~15 min at 10k)
    python benchmarks/w1_bench.py --sizes 100 1000 --accuracy-subjects 50

The workload and the peers live in ``../shared/bench`` beside the repository (``W1.md``,
``w1_reference.py``, ``w1_roadrunner.py``); the pharmsim side is W1 written with the public API
(``w1_pharmsim.py``: a PKModel, Ligand objects, ``compose``, a per-subject parameter table) and timed as a
user calls it: building the model and ``pharmsim.simulate`` (mesh adaptation included). Peers need the
``bench`` extra (``pip install -e .[bench]``: libroadrunner, antimony); pharmsim itself does not.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = REPO.parent / "shared" / "bench"
for p in (str(REPO), str(HERE), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import w1_pharmsim as w1ps  # noqa: E402
import w1_reference as ref  # noqa: E402

import pharmsim  # noqa: E402

try:
    import w1_roadrunner as rrm  # noqa: E402
except ImportError:  # libroadrunner not installed
    rrm = None


def run_pharmsim(pop, doses, workers=1):
    """What a user calls: compose the model and ``pharmsim.simulate`` it; returns (W1 array, seconds, notes)."""
    t0 = time.perf_counter()
    model = w1ps.model(ref.TYPICAL)
    result = pharmsim.simulate(model, w1ps.doses(doses), ref.GRID_H, population=w1ps.population_table(pop),
                               outputs=w1ps.OUTPUTS, workers=workers)
    dt = time.perf_counter() - t0
    return w1ps.as_w1_array(result, ref.OUTPUTS), dt, result.notes[-1]


def peak_memory_pharmsim(pop, doses, workers=1):
    """Peak traced allocation (bytes) of one pharmsim run, what the user calls and nothing else (tracemalloc sees
    numpy's buffers; the benchmark's own conversion to W1's array, a copy of the outputs, is left out)."""
    table = w1ps.population_table(pop)
    d = w1ps.doses(doses)
    tracemalloc.start()
    tracemalloc.reset_peak()
    model = w1ps.model(ref.TYPICAL)
    result = pharmsim.simulate(model, d, ref.GRID_H, population=table, outputs=w1ps.OUTPUTS, workers=workers)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak


def time_scipy(pop, doses, n):
    """The plain scipy loop (LSODA rtol 1e-6, atol 1e-9, as in shared/bench/README.md) on ``n`` subjects."""
    t0 = time.perf_counter()
    out = ref.simulate_population(pop, doses, rtol=1e-6, atol=1e-9, subjects=range(n))
    return out, time.perf_counter() - t0


def time_roadrunner(pop, doses, n, rr, repeats=1):
    """libroadrunner on the first ``n`` subjects: (outputs, best of ``repeats`` seconds)."""
    best = np.inf
    for _ in range(max(1, repeats)):
        with rrm.native_stdout_lines():          # CVODE may print warnings straight to fd 1
            t0 = time.perf_counter()
            out = rrm.simulate_population(pop, doses, rr=rr, subjects=range(n))
            best = min(best, time.perf_counter() - t0)
    return out, best


def fmt_s(seconds, measured_n, n):
    if measured_n == n:
        return f"{seconds:9.3f} s"
    return f"{seconds * n / measured_n:9.1f} s (extrapolated from {measured_n} subjects)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--arm", choices=["A", "B"], default="B")
    ap.add_argument("--scipy-subjects", type=int, default=100,
                    help="subjects on which the scipy loop is timed (linear extrapolation to N); default 100")
    ap.add_argument("--rr-subjects", type=int, default=0,
                    help="subjects on which libroadrunner is timed (0 = all N, the default)")
    ap.add_argument("--full-peers", action="store_true", help="time both peers on every subject")
    ap.add_argument("--accuracy-subjects", type=int, default=20,
                    help="first subjects compared with the tight reference (LSODA 1e-8/1e-12)")
    ap.add_argument("--repeats", type=int, default=3, help="pharmsim timing: best of this many runs")
    ap.add_argument("--workers", type=int, default=1,
                    help="threads pharmsim splits the population over (default 1, simulate's default); with more, "
                         "the 1-thread time is measured and printed as well")
    args = ap.parse_args(argv)

    doses = ref.w1_doses(args.arm)
    print(f"W1 arm {args.arm}: {len(doses)} doses, {ref.GRID_H.size} output times, 15 states; python "
          f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    K = args.accuracy_subjects
    pop_acc = ref.population(max(K, 1), args.seed)
    t0 = time.perf_counter()
    tight = ref.simulate_population(pop_acc, doses)
    print(f"tight reference (LSODA rtol 1e-8, atol 1e-12) on the first {K} subjects: "
          f"{time.perf_counter() - t0:.1f} s")
    be = [n for n in ref.OUTPUTS if n not in ref.CONC_OUTPUTS]
    small_occ = ["Bm_MG", "Bm_OH", "Bd_MG", "Bd_OH"]

    rr = None
    if rrm is not None:
        t0 = time.perf_counter()
        rr = rrm.make_runner("events", doses)
        print(f"libroadrunner model load + compile (once, not in the timings): {time.perf_counter() - t0:.2f} s")
    else:
        print("libroadrunner not installed: its column is skipped (pip install -e .[bench])")

    rows = []
    for N in args.sizes:
        pop = ref.population(N, args.seed)
        times, times_1 = [], []
        for _ in range(max(1, args.repeats)):           # interleaved: the configured threads, then one
            out, dt, engine = run_pharmsim(pop, doses, args.workers)
            times.append(dt)
            if args.workers > 1:
                out1, dt1, _ = run_pharmsim(pop, doses, 1)
                times_1.append(dt1)
                assert np.allclose(out1, out, rtol=1e-9, atol=1e-12), "threads changed the result"
                del out1
        t_ps = min(times)
        t_ps1 = min(times_1) if times_1 else t_ps
        peak = peak_memory_pharmsim(pop, doses, args.workers)
        k = min(K, N)
        rel_c, abs_be = ref.compare(out[:k], tight[:k])
        rel_small = ref.max_rel_err(out[:k], tight[:k], small_occ)
        del out

        n_sp = N if args.full_peers else min(N, args.scipy_subjects)
        sp_out, t_sp = time_scipy(pop, doses, n_sp)
        sp_acc = ref.compare(sp_out[:k], tight[:k])
        del sp_out
        t_sp_full = t_sp * N / n_sp

        if rr is not None:
            n_rr = N if (args.full_peers or args.rr_subjects <= 0) else min(N, args.rr_subjects)
            # best of as many runs as pharmsim's where a run is short (up to 1,000 subjects), as pharmsim's
            rr_reps = max(1, args.repeats) if n_rr <= 1000 else 1
            rr_out, t_rr = time_roadrunner(pop, doses, n_rr, rr, rr_reps)
            rr_acc = ref.compare(rr_out[:k], tight[:k])
            del rr_out
            t_rr_full = t_rr * N / n_rr
        print(f"\nN = {N:,}")
        print(f"  pharmsim        {t_ps:9.3f} s  ({args.workers} thread{'s' if args.workers > 1 else ''}; best of "
              f"{len(times)}: {', '.join(f'{x:.3f}' for x in times)}; {engine}; mesh adaptation included)")
        if times_1:
            print(f"  pharmsim 1 thr  {t_ps1:9.3f} s  (best of {len(times_1)}: "
                  f"{', '.join(f'{x:.3f}' for x in times_1)}; same result to 1e-9)")
        print(f"                  peak memory {peak / 2**20:,.0f} MiB traced (tracemalloc); "
              f"process max RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:,.0f} MiB")
        print(f"                  error vs tight reference on {k} subjects: max rel C_* {rel_c:.1e} (W1: 1e-4), "
              f"max abs B/E {abs_be:.1e} (W1: 1e-5), max rel MG/OH occupancy {rel_small:.1e}")
        print(f"  scipy loop      {fmt_s(t_sp, n_sp, N)}  -> pharmsim {t_sp_full / t_ps:7.0f}x faster "
              f"({t_sp_full / t_ps1:.0f}x on 1 thread; target >= 200x at 10,000); its error: rel C_* "
              f"{sp_acc[0]:.1e}, abs B/E {sp_acc[1]:.1e}")
        if rr is not None:
            print(f"  libroadrunner   {fmt_s(t_rr, n_rr, N)}  (best of {rr_reps}) -> pharmsim "
                  f"{t_rr_full / t_ps:5.1f}x faster "
                  f"({t_rr_full / t_ps1:.1f}x on 1 thread; target >= 50x at 10,000, >= 5x at 100); its error: rel C_* "
                  f"{rr_acc[0]:.1e}, abs B/E {rr_acc[1]:.1e}")
        rows.append((N, t_ps, t_ps1, t_sp_full, n_sp, t_rr_full if rr is not None else np.nan, peak, rel_c, abs_be))

    print(f"\nsummary (pharmsim on {args.workers} thread(s); x = speed-up; x1 = speed-up of pharmsim on 1 thread)")
    print("      N  pharmsim_s  1thr_s  scipy_s (x, x1)              roadrunner_s (x, x1)   peak_MiB  relerr_C"
          "  abserr_BE")
    for N, t_ps, t_ps1, t_sp, n_sp, t_rr, peak, rel_c, abs_be in rows:
        mark = "" if n_sp == N else "*"
        print(f"{N:7d}  {t_ps:10.3f}  {t_ps1:6.3f}  {t_sp:9.1f}{mark:1s} ({t_sp / t_ps:5.0f}x, {t_sp / t_ps1:5.0f}x)"
              f"  {t_rr:9.2f} ({t_rr / t_ps:5.1f}x, {t_rr / t_ps1:5.1f}x)  {peak / 2**20:8.0f}  {rel_c:8.1e}"
              f"  {abs_be:9.1e}")
    if any(n_sp != N for N, _, _, _, n_sp, *_ in rows):
        print("* extrapolated linearly from a subset (--full-peers to time every subject)")
    print("W1 accuracy also counts B/E relative errors on [" + ", ".join(be) + "] only in absolute terms.")


if __name__ == "__main__":
    main()
