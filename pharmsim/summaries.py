"""Population summaries kept chunk by chunk: memory independent of the number of subjects, mergeable, exact
where it can be and with a stated error bound where it cannot.

A population run of 10^6 subjects x 673 times x 11 series would need ~60 GB for full trajectories. The engine
instead hands each chunk (a block of subjects, arrays of shape (n_chunk, T) per series) to a
:class:`SummaryAccumulator`, which turns it into a small picklable :class:`SummaryPartial`; the partials are
merged in subject order into a :class:`SummaryResult`. What is kept is declared once in a :class:`Summaries`
spec:

- **Per-time moments** (mean and SD; the count is N) in float64: two-pass within a chunk, then the pairwise update of
  Chan, Golub & LeVeque (1979) between chunks. They agree with numpy on the whole array to round-off for any
  chunking, and are bit-identical whenever the same chunks are merged (the accumulator always folds partials in
  subject order, whatever order they arrive in).
- **Exact per-time min and max.**
- **Per-time quantiles** from a DDSketch-style log-bucket histogram (Masson, Rim & Lee 2019) with relative
  accuracy ``alpha`` (``Summaries.quantile_error``), a zero bucket and a negative mirror, on a declared magnitude
  range ``(floor, ceiling]`` per series. Bucket counts are integers, so the merged sketch, and therefore every
  quantile, is identical for every chunking. The quantile is numpy's default (``method='linear'``, Hyndman & Fan
  1996 definition 7) up to the bound ``|q_hat - q| <= alpha |q| + floor`` (see :func:`sketch_quantile`).
- **Per-subject scalars** (N floats each): Cmax, Tmax, AUC (linear-up/log-down trapezoid, as PKNCA's
  ``"lin up/log down"``, or plain linear), nadir, time of nadir, time above a threshold (linear interpolation
  of the crossings), and exact summaries of those across subjects.
- **Full trajectories of a few sampled subjects**, chosen from ``n_total`` and a seed *before* the run, so that
  the choice does not depend on chunking.

Memory of one partial, with S series, T times, C scalar columns, k sampled subjects in the chunk:
``8 (4 S T + C n_chunk + k + S k T)`` bytes plus, per series, ``56 T + 4 T (W_pos + W_neg)`` for the sketch,
where ``W <= K = ceil(ln(ceiling/floor) / ln gamma)`` (2073 for the defaults) is the widest per-time window of
occupied log buckets (uint32 counts). Nothing in it grows with N; the sketch does not grow with the chunk size
either. :meth:`SummaryAccumulator.nbytes_bound` gives the bound. Measured on a W1-like chunk (10^4 subjects x
673 times x 11 series, terminal phases spread over 20 decades): W ~ 700-1200, a partial of ~36 MB against
592 MB of trajectories.

Not for: full trajectories of every subject or per-subject time courses beyond the sampled few (use
:class:`pharmsim.result.Result` when N fits in memory); exact per-time quantiles (use ``np.percentile`` on a
Result); NCA with lambda_z, AUC0-inf or LLOQ handling (see :mod:`pharmsim.nca`); solving or chunk scheduling
(see :mod:`pharmsim.solve`); plotting.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .validate import PharmsimError, as_float_array, require_finite, suggest

__all__ = [
    "SCALARS",
    "AUC_METHODS",
    "DEFAULT_VALUE_RANGE",
    "Summaries",
    "LogGrid",
    "QuantileSketch",
    "SummaryPartial",
    "SummaryAccumulator",
    "SummaryResult",
    "sketch_quantile",
]

SCALARS = ("Cmax", "Tmax", "AUC", "nadir", "Tnadir", "time_above")
"""Per-subject scalars that :class:`Summaries` can ask for."""

AUC_METHODS = ("lin up/log down", "linear")
"""AUC rules (PKNCA's names): linear-up/log-down trapezoid, or the plain linear trapezoid."""

DEFAULT_VALUE_RANGE = (1e-9, 1e9)
"""Default magnitude range ``(floor, ceiling)`` of the quantile sketch of every series."""

_ALL = "*"
_BIG = 2**60  # window sentinel: "no occupied bucket at this time" (lo = +_BIG, hi = -_BIG)
_MAX_BINS = 1_000_000
_COUNT = np.uint32  # bucket counts: half the bytes of int64; N < 2^32 is checked
_MAX_N = 2**32 - 1


# --------------------------------------------------------------------------------------------------- spec
def _require_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise PharmsimError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _per_series(name: str, value, one) -> tuple[tuple[str, object], ...]:
    """Normalise "one value for every series" or a mapping label -> value (key '*' = every other series)."""
    if isinstance(value, Mapping):
        out = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise PharmsimError(f"{name} keys must be series labels (str); got {k!r}")
            out.append((k, one(f"{name}[{k!r}]", v)))
        return tuple(out)
    return ((_ALL, one(name, value)),)


def _thresholds(name: str, value) -> tuple[float, ...]:
    vals = np.atleast_1d(require_finite(name, value))
    if vals.ndim != 1:
        raise PharmsimError(f"{name} must be a number or a 1-D sequence of numbers; got shape {vals.shape}")
    if len(set(vals.tolist())) != vals.size:
        raise PharmsimError(f"{name} must not repeat a threshold; got {vals.tolist()}")
    return tuple(float(v) for v in vals)


def _value_range(name: str, value) -> tuple[float, float]:
    arr = require_finite(name, value)
    if arr.shape != (2,) or not 0 < arr[0] < arr[1]:
        raise PharmsimError(f"{name} must be a pair (floor, ceiling) of magnitudes with 0 < floor < ceiling; "
                            f"got {value!r}")
    return float(arr[0]), float(arr[1])


@dataclass(frozen=True)
class Summaries:
    """What a population run keeps instead of full trajectories.

    Parameters
    ----------
    mean, sd : bool
        Per-time mean and sample SD (``ddof = 1``, as pandas; NaN when N = 1) of every series.
    quantiles : tuple of float
        Per-time percentiles in [0, 100] (numpy's default ``'linear'`` definition, to within the sketch's
        bound). ``()`` keeps no sketch at all.
    scalars : tuple of str
        Per-subject scalars, any of :data:`SCALARS`: ``Cmax`` and ``Tmax`` (largest value, first time of it),
        ``AUC`` (over the whole grid, rule ``auc_method``), ``nadir`` and ``Tnadir`` (smallest value, first time
        of it), ``time_above`` (h with value > threshold, one column per threshold of the series; series without
        a threshold get none).
    thresholds : float, sequence of float, or mapping label -> float or sequence
        Thresholds for ``time_above``. A bare number or sequence applies to every series; in a mapping the key
        ``'*'`` means "every series not named".
    n_sampled : int
        Number of subjects whose full trajectories are kept (capped at N).
    quantile_error : float
        Relative accuracy ``alpha`` in (0, 1) of the quantile sketch (DDSketch's alpha).
    value_range : (floor, ceiling) or mapping label -> (floor, ceiling)
        Magnitudes the sketch resolves: ``floor < |x| <= ceiling`` go to log buckets, ``|x| <= floor`` to the
        zero bucket (reported as 0, so an absolute error of at most ``floor``), ``|x| > ceiling`` are counted
        exactly but not placed (a quantile that needs them is NaN). Key ``'*'`` as for ``thresholds``; series
        not covered use :data:`DEFAULT_VALUE_RANGE`. Concentrations in nM and fractions are both well inside
        the default.
    auc_method : str
        One of :data:`AUC_METHODS`.

    Mapping arguments are stored as tuples of pairs so that the spec stays hashable and picklable.
    """

    mean: bool = True
    sd: bool = True
    quantiles: tuple[float, ...] = (5.0, 50.0, 95.0)
    scalars: tuple[str, ...] = ("Cmax", "Tmax", "AUC", "nadir", "time_above")
    thresholds: object = ()
    n_sampled: int = 10
    quantile_error: float = 0.01
    value_range: object = DEFAULT_VALUE_RANGE
    auc_method: str = "lin up/log down"

    def __post_init__(self):
        def set_(name, value):  # frozen dataclass: normalise in place
            object.__setattr__(self, name, value)

        set_("mean", _require_bool("mean", self.mean))
        set_("sd", _require_bool("sd", self.sd))

        qs = self.quantiles
        qs = (qs,) if isinstance(qs, (int, float, np.number)) and not isinstance(qs, bool) else qs
        arr = np.atleast_1d(require_finite("quantiles", list(qs) if not isinstance(qs, np.ndarray) else qs))
        if arr.ndim != 1:
            raise PharmsimError(f"quantiles must be a 1-D sequence of percentiles; got shape {arr.shape}")
        bad = (arr < 0) | (arr > 100)
        if bad.any():
            raise PharmsimError(f"quantiles must be percentiles in [0, 100]; got {arr[bad][0]:g} "
                                f"(in {arr.tolist()})")
        if len(set(arr.tolist())) != arr.size:
            raise PharmsimError(f"quantiles must not repeat a percentile; got {arr.tolist()}")
        set_("quantiles", tuple(float(q) for q in arr))

        sc = (self.scalars,) if isinstance(self.scalars, str) else tuple(self.scalars)
        for s in sc:
            if s not in SCALARS:
                raise PharmsimError(f"scalars must be among {', '.join(map(repr, SCALARS))}; got {s!r}"
                                    f"{suggest(str(s), SCALARS)}")
        if len(set(sc)) != len(sc):
            raise PharmsimError(f"scalars must not repeat a name; got {list(sc)}")
        set_("scalars", sc)

        empty = isinstance(self.thresholds, (tuple, list, dict)) and len(self.thresholds) == 0
        set_("thresholds", () if empty else self._normalised("thresholds", self.thresholds, _thresholds))

        n = self.n_sampled
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise PharmsimError(f"n_sampled must be an integer >= 0; got {n!r}")
        set_("n_sampled", int(n))

        a = self.quantile_error
        if isinstance(a, bool) or not isinstance(a, (int, float, np.number)) or not math.isfinite(a) \
                or not 0 < a < 1:
            raise PharmsimError(f"quantile_error must be a relative accuracy in (0, 1) (e.g. 0.01 for 1 %); "
                                f"got {a!r}")
        set_("quantile_error", float(a))

        set_("value_range", self._normalised("value_range", self.value_range, _value_range))
        for _, (lo, hi) in self.value_range:
            LogGrid(lo, hi, self.quantile_error)  # validates the number of buckets
        if self.auc_method not in AUC_METHODS:
            raise PharmsimError(f"auc_method must be one of {', '.join(map(repr, AUC_METHODS))}; got "
                                f"{self.auc_method!r}{suggest(str(self.auc_method), AUC_METHODS)}")

    @staticmethod
    def _normalised(name, value, one):
        # already normalised (a tuple of (label, value) pairs, e.g. from dataclasses.replace)
        if isinstance(value, tuple) and value and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                                                      for p in value):
            return tuple((k, one(f"{name}[{k!r}]", v)) for k, v in value)
        return _per_series(name, value, one)

    def thresholds_for(self, label: str) -> tuple[float, ...]:
        """Thresholds of ``time_above`` for series ``label`` (``()`` if none)."""
        d = dict(self.thresholds)
        return d.get(label, d.get(_ALL, ()))

    def value_range_for(self, label: str) -> tuple[float, float]:
        """Sketch magnitude range ``(floor, ceiling)`` of series ``label``."""
        d = dict(self.value_range)
        return d.get(label, d.get(_ALL, DEFAULT_VALUE_RANGE))

    @property
    def statistics(self) -> tuple[str, ...]:
        """Names of the per-time statistics in :meth:`SummaryResult.table` (``p5`` = 5th percentile)."""
        out = (("mean",) if self.mean else ()) + (("sd",) if self.sd else ()) + ("min", "max")
        return out + tuple(_pname(q) for q in self.quantiles)


def _pname(q: float) -> str:
    return f"p{q:g}"


# --------------------------------------------------------------------------------------------------- sketch
class LogGrid:
    """The log-bucket grid of a DDSketch with relative accuracy ``alpha`` on magnitudes (floor, ceiling].

    With ``gamma = (1 + alpha) / (1 - alpha)`` the bucket edges are ``e_i = floor * gamma^i``,
    ``i = 0..K``, ``K = ceil(ln(ceiling / floor) / ln gamma)``; a magnitude ``m`` goes to the bucket ``i`` with
    ``e_{i-1} < m <= e_i`` (decided by comparison with the stored edges, so it does not depend on the rounding
    of a logarithm). The representative value of bucket i is ``r_i = 2 e_{i-1} e_i / (e_{i-1} + e_i)``, which
    is within ``(gamma - 1)/(gamma + 1) = alpha`` relative of every point of the bucket (Masson, Rim & Lee
    2019, "DDSketch: a fast and fully-mergeable quantile sketch with relative-error guarantees", PVLDB
    12:2195, doi:10.14778/3352063.3352135, Lemma 2).
    """

    def __init__(self, floor: float, ceiling: float, alpha: float):
        self.floor, self.ceiling, self.alpha = float(floor), float(ceiling), float(alpha)
        self.ln_gamma = math.log1p(2 * alpha / (1 - alpha))
        K = max(1, math.ceil((math.log(self.ceiling) - math.log(self.floor)) / self.ln_gamma))
        if K > _MAX_BINS:
            raise PharmsimError(f"value_range ({floor:g}, {ceiling:g}) with quantile_error = {alpha:g} needs {K} "
                                f"buckets per sign; expected at most {_MAX_BINS} (narrow the range or raise "
                                f"quantile_error)")
        edges = self.floor * np.exp(self.ln_gamma * np.arange(K + 1))
        if edges[-1] < self.ceiling:
            K += 1
            edges = self.floor * np.exp(self.ln_gamma * np.arange(K + 1))
        edges[0] = self.floor
        self.K = K
        self.edges = edges
        reps = np.zeros(K + 1)
        reps[1:] = 2 * edges[:-1] * edges[1:] / (edges[:-1] + edges[1:])
        self.reps = reps

    def __repr__(self):
        return f"LogGrid(floor={self.floor:g}, ceiling={self.ceiling:g}, alpha={self.alpha:g}, K={self.K})"

    def __eq__(self, other):
        return isinstance(other, LogGrid) and (self.floor, self.ceiling, self.alpha) == (
            other.floor, other.ceiling, other.alpha)

    def __hash__(self):
        return hash((self.floor, self.ceiling, self.alpha))

    def keys(self, m: np.ndarray) -> np.ndarray:
        """Bucket index of each magnitude ``m >= 0``: 1..K for ``floor < m <= ceiling``; values outside that
        range get 1 or K (callers mask them)."""
        with np.errstate(divide="ignore"):  # log(0) = -inf is clipped to bucket 1 and masked by the caller
            f = np.log(m)
        f -= math.log(self.floor)
        f /= self.ln_gamma
        np.ceil(f, out=f)
        np.clip(f, 1, self.K, out=f)
        i = f.astype(np.int64)
        # one correction step each way makes e_{i-1} < m <= e_i exact (the logarithm is off by ulps at most)
        np.add(i, np.greater(m, self.edges.take(i)).view(np.uint8), out=i)
        np.minimum(i, self.K, out=i)
        np.subtract(i, np.less_equal(m, self.edges.take(i - 1)).view(np.uint8), out=i)
        np.maximum(i, 1, out=i)
        return i


@dataclass(frozen=True)
class QuantileSketch:
    """Per-time bucket counts of one series (a DDSketch per time point, stored as one window per time).

    ``pos[t, c]`` counts values ``x`` at time t in log bucket ``pos_lo[t] + c`` (``pos_hi[t]`` the last occupied
    one); ``neg`` the same for ``-x`` of negative values; ``zero`` counts ``|x| <= floor``; ``above`` and
    ``below`` count ``x > ceiling`` and ``x < -ceiling``. Empty windows have ``lo = +2^60, hi = -2^60``.
    Memory ``56 T + 4 T (W_pos + W_neg)`` bytes with ``W <= K`` (uint32 counts, int64 window ends and tallies).
    """

    pos_lo: np.ndarray
    pos_hi: np.ndarray
    pos: np.ndarray
    neg_lo: np.ndarray
    neg_hi: np.ndarray
    neg: np.ndarray
    zero: np.ndarray
    above: np.ndarray
    below: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    @property
    def n(self) -> np.ndarray:
        """Number of values per time."""
        return self.pos.sum(axis=1) + self.neg.sum(axis=1) + self.zero + self.above + self.below


def _window(key: np.ndarray, mask: np.ndarray):
    """(lo, hi, counts) of the occupied buckets of ``key[mask]`` per column (time) of an (n, T) array."""
    T = key.shape[1]
    lo = np.where(mask, key, _BIG).min(axis=0)
    hi = np.where(mask, key, -_BIG).max(axis=0)
    width = np.where(hi >= lo, hi - lo + 1, 0)
    W = int(width.max()) if T else 0
    if W == 0:
        return lo, hi, np.zeros((T, 0), dtype=_COUNT)
    # flat bucket index t * W + (key - lo[t]); entries outside the mask go to one extra bin, dropped
    flat = key - np.where(hi >= lo, lo, 0)
    flat += np.arange(0, T * W, W)
    flat[~mask] = T * W
    counts = np.bincount(flat.reshape(-1), minlength=T * W + 1)[:-1]
    return lo, hi, counts.astype(_COUNT).reshape(T, W)


def _sketch_chunk(x: np.ndarray, grid: LogGrid) -> QuantileSketch:
    m = np.abs(x)
    key = grid.keys(m)
    inside = (m > grid.floor) & (m <= grid.ceiling)
    p_lo, p_hi, p = _window(key, inside & (x > 0))
    n_lo, n_hi, ng = _window(key, inside & (x < 0))
    return QuantileSketch(pos_lo=p_lo, pos_hi=p_hi, pos=p, neg_lo=n_lo, neg_hi=n_hi, neg=ng,
                          zero=(m <= grid.floor).sum(axis=0, dtype=np.int64),
                          above=(x > grid.ceiling).sum(axis=0, dtype=np.int64),
                          below=(x < -grid.ceiling).sum(axis=0, dtype=np.int64))


def _merge_windows(parts):
    """Sum windows (lo, hi, counts) bucket by bucket: exact integer arithmetic, any order gives the same."""
    lo = np.minimum.reduce([p[0] for p in parts])
    hi = np.maximum.reduce([p[1] for p in parts])
    width = np.where(hi >= lo, hi - lo + 1, 0)
    T = lo.size
    W = int(width.max()) if T else 0
    out = np.zeros((T, W), dtype=_COUNT)
    flat_out = out.reshape(-1)
    for plo, phi, c in parts:
        rows = np.flatnonzero(phi >= plo)
        if rows.size == 0 or c.shape[1] == 0:
            continue
        cols = (plo[rows] - lo[rows])[:, None] + np.arange(c.shape[1])[None, :]
        ok = cols < W  # columns past a row's own width are padding zeros
        flat = (rows[:, None] * W + cols)[ok]
        flat_out[flat] += c[rows][ok]
    return lo, hi, out


def _merge_sketches(sketches) -> QuantileSketch:
    p_lo, p_hi, p = _merge_windows([(s.pos_lo, s.pos_hi, s.pos) for s in sketches])
    n_lo, n_hi, ng = _merge_windows([(s.neg_lo, s.neg_hi, s.neg) for s in sketches])
    return QuantileSketch(pos_lo=p_lo, pos_hi=p_hi, pos=p, neg_lo=n_lo, neg_hi=n_hi, neg=ng,
                          zero=sum(s.zero for s in sketches), above=sum(s.above for s in sketches),
                          below=sum(s.below for s in sketches))


def _ordered(sk: QuantileSketch, grid: LogGrid):
    """Counts and representative values per time in increasing value order: (T, B) each."""
    T = sk.zero.size
    Wn, Wp = sk.neg.shape[1], sk.pos.shape[1]
    # negatives: window column c is magnitude bucket neg_lo + c; reversed, the values increase
    kn = np.clip(sk.neg_lo[:, None] + (Wn - 1 - np.arange(Wn))[None, :], 1, grid.K)
    kp = np.clip(sk.pos_lo[:, None] + np.arange(Wp)[None, :], 1, grid.K)
    nan = np.full((T, 1), np.nan)
    counts = np.hstack([sk.below[:, None], sk.neg[:, ::-1], sk.zero[:, None], sk.pos, sk.above[:, None]])
    reps = np.hstack([nan, -grid.reps[kn], np.zeros((T, 1)), grid.reps[kp], nan])
    return counts, reps


def sketch_quantile(sk: QuantileSketch, grid: LogGrid, q, vmin: np.ndarray, vmax: np.ndarray) -> np.ndarray:
    """Per-time percentiles ``q`` (in [0, 100]) of a sketch, following numpy's default definition.

    numpy's ``method='linear'`` (Hyndman & Fan 1996, "Sample quantiles in statistical packages", Am Stat
    50:361, doi:10.1080/00031305.1996.10473566, definition 7) is, for sorted values ``x_(0) <= ... <= x_(n-1)``,

    ``h = (n - 1) q / 100,  k = floor(h),  f = h - k,  Q(q) = x_(k) + f (x_(k+1) - x_(k))``.

    Here ``x_(k)`` and ``x_(k+1)`` are replaced by the representative values of the buckets that hold them
    (found from the cumulative counts), except that ``x_(0)`` and ``x_(n-1)`` are the exact min and max; the
    result is clipped to [min, max]. Each estimate is within ``alpha |x|`` of a value in a log bucket and within
    ``floor`` of one in the zero bucket, so

    ``|Q_hat - Q| <= alpha ((1 - f) |x_(k)| + f |x_(k+1)|) + floor``,

    which is ``alpha |Q| + floor`` when ``x_(k)`` and ``x_(k+1)`` do not have opposite signs (always so for a
    series without negatives), and at most ``alpha max(|x_(k)|, |x_(k+1)|) + floor`` when they straddle zero
    (floating-point round-off aside). An ``x_(k)`` beyond ``+-ceiling`` has no bound: the quantile is NaN.

    Parameters
    ----------
    sk : QuantileSketch
    grid : LogGrid
    q : float or sequence of float
        Percentiles in [0, 100].
    vmin, vmax : (T,) array
        Exact per-time minimum and maximum.

    Returns
    -------
    (len(q), T) array, or (T,) for a scalar q.
    """
    qa = np.atleast_1d(require_finite("q", q))
    if ((qa < 0) | (qa > 100)).any():
        raise PharmsimError(f"q must be percentiles in [0, 100]; got {qa[(qa < 0) | (qa > 100)][0]:g}")
    n_t = sk.n
    n = int(n_t[0]) if n_t.size else 0
    counts, reps = _ordered(sk, grid)
    cum = np.cumsum(counts, axis=1)
    rows = np.arange(counts.shape[0])

    def order_stat(r: int) -> np.ndarray:
        if r == 0:
            return vmin.astype(float, copy=True)
        if r == n - 1:
            return vmax.astype(float, copy=True)
        return reps[rows, np.argmax(cum > r, axis=1)]

    out = np.empty((qa.size, counts.shape[0]))
    for j, qj in enumerate(qa):
        h = (n - 1) * (qj / 100.0)  # as numpy's 'linear' virtual index
        k = int(np.floor(h))
        f = h - k
        lo = order_stat(k)
        est = lo if f == 0 else lo + f * (order_stat(min(k + 1, n - 1)) - lo)
        out[j] = np.clip(est, vmin, vmax)
    return out[0] if np.ndim(q) == 0 else out


# --------------------------------------------------------------------------------------------------- partial
@dataclass(frozen=True)
class SummaryPartial:
    """What one chunk (or several adjacent chunks) of subjects contributes; small, picklable, mergeable.

    Subjects ``start .. start + n - 1``. ``mean``, ``m2`` (sum of squared deviations from the mean), ``vmin``,
    ``vmax``: (S, T) float64 (``mean`` and ``m2`` are (S, 0) when neither mean nor SD was asked for);
    ``sketches``: one :class:`QuantileSketch` per series (``()`` without quantiles); ``scalars``: (C, n) per
    subject; ``sampled_index`` (k,) global indices of sampled subjects in this block and ``sampled_values``
    (S, k, T) their trajectories; ``fingerprint`` identifies the accumulator that made it.
    """

    start: int
    n: int
    mean: np.ndarray
    m2: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    sketches: tuple[QuantileSketch, ...]
    scalars: np.ndarray
    sampled_index: np.ndarray
    sampled_values: np.ndarray
    fingerprint: str

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays."""
        arrays = (self.mean, self.m2, self.vmin, self.vmax, self.scalars, self.sampled_index, self.sampled_values)
        return sum(a.nbytes for a in arrays) + sum(s.nbytes for s in self.sketches)


def _chan(na: int, mean_a, m2a, nb: int, mean_b, m2b):
    """Pairwise update of mean and sum of squared deviations (Chan, Golub & LeVeque 1979)."""
    n = na + nb
    d = mean_b - mean_a
    return mean_a + d * (nb / n), m2a + m2b + d * d * (na * nb / n)


def _combine_stats(a: SummaryPartial, b: SummaryPartial):
    """(mean, m2, vmin, vmax, sketches) of a followed by b."""
    if a.mean.shape[1]:
        mean, m2 = _chan(a.n, a.mean, a.m2, b.n, b.mean, b.m2)
    else:
        mean, m2 = a.mean, a.m2
    sketches = tuple(_merge_sketches((sa, sb)) for sa, sb in zip(a.sketches, b.sketches, strict=True))
    return mean, m2, np.minimum(a.vmin, b.vmin), np.maximum(a.vmax, b.vmax), sketches


# --------------------------------------------------------------------------------------------------- scalars
def _auc(x: np.ndarray, dt: np.ndarray, method: str) -> np.ndarray:
    """Per-row AUC over the grid: linear trapezoid, or log trapezoid where the value falls and both are > 0.

    The log segment ``(c1 - c2) dt / ln(c1/c2)`` takes ``ln(c1/c2) = log1p((c1 - c2)/c2)``, accurate also when
    c1 and c2 are nearly equal (a difference of logarithms would lose digits there).
    """
    if x.shape[1] < 2:
        return np.zeros(x.shape[0])
    c1, c2 = x[:, :-1], x[:, 1:]
    area = c1 + c2
    area *= 0.5 * dt
    if method == "lin up/log down":
        down = (c2 < c1) & (c2 > 0)
        if down.any():
            d = c1 - c2
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                r = d / c2
                huge = down & (r > 1e300)  # c2 near underflow: ln(c1/c2) from the logarithms
                ln_ratio = np.log1p(r)
                if huge.any():
                    ln_ratio[huge] = np.log(c1[huge]) - np.log(c2[huge])
                d *= dt
                d /= ln_ratio
            np.copyto(area, d, where=down)
    return area.sum(axis=1)


def _time_above(x: np.ndarray, dt: np.ndarray, thr: float) -> np.ndarray:
    """Per-row time with value > thr, the value interpolated linearly between grid points.

    A segment from c1 to c2 contributes ``dt`` if both are above, ``dt (c1 - thr)/(c1 - c2)`` if only c1 is,
    ``dt (c2 - thr)/(c2 - c1)`` if only c2 is, and 0 otherwise.
    """
    if x.shape[1] < 2:
        return np.zeros(x.shape[0])
    u = x > thr
    u1, u2 = u[:, :-1], u[:, 1:]
    frac = (u1 & u2).astype(float)
    cross = u1 != u2
    if cross.any():
        c1, c2 = x[:, :-1], x[:, 1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(u1, c1 - thr, c2 - thr) / np.abs(c1 - c2)
        np.copyto(frac, part, where=cross)
    frac *= dt
    return frac.sum(axis=1)


# --------------------------------------------------------------------------------------------------- accumulator
class SummaryAccumulator:
    """Turns chunks of a population run into :class:`SummaryPartial` objects and merges them.

    Parameters
    ----------
    spec : Summaries
        What to keep.
    t_h : (T,) array
        Strictly increasing output times (h), shared by every series.
    series_labels : sequence of str
        One label per output series (e.g. ``"plasma_conc:MG"``); chunks are dicts keyed by these.
    n_total : int
        Number of subjects N of the whole run (needed before the run to choose the sampled subjects).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Source of the sampled subjects: ``min(n_sampled, N)`` indices drawn without replacement from 0..N-1 at
        construction (a Generator is advanced). The same N and seed give the same subjects for any chunking.

    Examples
    --------
    >>> acc = SummaryAccumulator(Summaries(), t_h, ["C"], n_total=N)          # doctest: +SKIP
    >>> parts = [acc.chunk(s, {"C": C[s:s + 1000]}) for s in range(0, N, 1000)]  # doctest: +SKIP
    >>> acc.merge(parts).table()                                              # doctest: +SKIP
    """

    def __init__(self, spec: Summaries, t_h, series_labels: Sequence[str], n_total: int, *, seed=0):
        if not isinstance(spec, Summaries):
            raise PharmsimError(f"spec must be a pharmsim.summaries.Summaries; got {type(spec).__name__}")
        t = require_finite("t_h", t_h, "h")
        if t.ndim != 1 or t.size < 1:
            raise PharmsimError(f"t_h must be a 1-D array of at least one time (h); got shape {t.shape}")
        d = np.diff(t)
        if (d <= 0).any():
            i = int(np.argmax(d <= 0))
            raise PharmsimError(f"t_h must be strictly increasing; t_h[{i + 1}] = {t[i + 1]} follows "
                                f"t_h[{i}] = {t[i]}")
        labels = (series_labels,) if isinstance(series_labels, str) else tuple(series_labels)
        if not labels or not all(isinstance(s, str) and s for s in labels):
            raise PharmsimError(f"series_labels must be a non-empty sequence of non-empty strings; got "
                                f"{series_labels!r}")
        if len(set(labels)) != len(labels):
            dup = next(s for s in labels if labels.count(s) > 1)
            raise PharmsimError(f"series_labels must be unique; {dup!r} appears {labels.count(dup)} times")
        if isinstance(n_total, bool) or not isinstance(n_total, (int, np.integer)) or not 1 <= n_total <= _MAX_N:
            raise PharmsimError(f"n_total must be an integer in 1..{_MAX_N} (subjects); got {n_total!r}")
        for name, pairs in (("thresholds", spec.thresholds), ("value_range", spec.value_range)):
            for k, _ in pairs:
                if k != _ALL and k not in labels:
                    raise PharmsimError(f"{name} names series {k!r}, which is not among series_labels "
                                        f"{list(labels)}{suggest(k, labels)}")
        if isinstance(seed, np.random.Generator):
            rng = seed
        elif isinstance(seed, (np.random.SeedSequence, int, np.integer)) and not isinstance(seed, bool):
            rng = np.random.default_rng(seed)
        else:
            raise PharmsimError(f"seed must be an int, a numpy.random.SeedSequence or a numpy.random.Generator; "
                                f"got {seed!r}")

        self.spec = spec
        self.t_h = t.copy()
        self.t_h.flags.writeable = False
        self._dt = np.diff(self.t_h)
        self.series = labels
        self.n_total = int(n_total)
        k = min(spec.n_sampled, self.n_total)
        self.sampled_index = np.sort(rng.choice(self.n_total, size=k, replace=False)).astype(np.int64)
        self.grids = tuple(LogGrid(*spec.value_range_for(s), spec.quantile_error) for s in labels) \
            if spec.quantiles else ()
        cols = []
        for s in labels:
            for name in spec.scalars:
                if name == "time_above":
                    cols += [(s, f"time_above_{thr:g}") for thr in spec.thresholds_for(s)]
                else:
                    cols.append((s, name))
        self.scalar_columns: tuple[tuple[str, str], ...] = tuple(cols)
        h = hashlib.sha256()
        h.update(repr((spec, labels, self.n_total, self.sampled_index.tolist())).encode())
        h.update(self.t_h.tobytes())
        self.fingerprint = h.hexdigest()[:16]

    def __repr__(self):
        return (f"SummaryAccumulator(series={list(self.series)}, T={self.t_h.size}, n_total={self.n_total}, "
                f"spec={self.spec!r})")

    @property
    def _moments(self) -> bool:
        return self.spec.mean or self.spec.sd

    def nbytes_bound(self, n_chunk: int) -> int:
        """Upper bound on :attr:`SummaryPartial.nbytes` for a chunk of ``n_chunk`` subjects (see module
        docstring): the per-time part does not depend on N or on the chunk size."""
        S, T = len(self.series), self.t_h.size
        per_time = (4 if self._moments else 2) * S * T * 8
        sketch = sum(56 * T + 4 * T * 2 * g.K for g in self.grids)
        k = self.sampled_index.size
        return per_time + sketch + 8 * len(self.scalar_columns) * n_chunk + 8 * k + 8 * S * min(k, n_chunk) * T

    # ---- one chunk
    def _check_chunk(self, start_index, arrays) -> tuple[int, int, list[np.ndarray]]:
        if isinstance(start_index, bool) or not isinstance(start_index, (int, np.integer)) \
                or not 0 <= start_index < self.n_total:
            raise PharmsimError(f"start_index must be an integer in 0..{self.n_total - 1}; got {start_index!r}")
        if not isinstance(arrays, Mapping):
            raise PharmsimError(f"arrays must be a dict label -> (n, T) array; got {type(arrays).__name__}")
        for k in arrays:
            if k not in self.series:
                raise PharmsimError(f"arrays has unknown series {k!r}; expected {list(self.series)}"
                                    f"{suggest(str(k), self.series)}")
        missing = [s for s in self.series if s not in arrays]
        if missing:
            raise PharmsimError(f"arrays is missing series {missing}; expected every one of {list(self.series)}")
        T = self.t_h.size
        out, n = [], None
        for s in self.series:
            name = f"arrays[{s!r}]"
            x = as_float_array(name, arrays[s])
            if x.ndim != 2 or x.shape[1] != T or x.shape[0] < 1:
                raise PharmsimError(f"{name} must have shape (n_subjects >= 1, T = {T}); got shape {x.shape}")
            if n is None:
                n = x.shape[0]
            elif x.shape[0] != n:
                raise PharmsimError(f"{name} has {x.shape[0]} subjects but arrays[{self.series[0]!r}] has {n}; "
                                    f"every series of a chunk must have the same subjects")
            bad = ~np.isfinite(x)
            if bad.any():
                i, j = (int(v[0]) for v in np.nonzero(bad))
                raise PharmsimError(f"{name} must be finite; got {float(x[i, j])!r} at subject {start_index + i} "
                                    f"(row {i}), t_h = {self.t_h[j]:g} h")
            out.append(np.ascontiguousarray(x, dtype=np.float64))
        if start_index + n > self.n_total:
            raise PharmsimError(f"start_index + n_subjects must be <= n_total = {self.n_total}; got "
                                f"{start_index} + {n}")
        return int(start_index), int(n), out

    def chunk(self, start_index: int, arrays: Mapping[str, np.ndarray]) -> SummaryPartial:
        """Summaries of subjects ``start_index .. start_index + n - 1``.

        Parameters
        ----------
        start_index : int
            Global index of the chunk's first subject.
        arrays : dict label -> (n, T) array
            One finite array per series label, rows = subjects in order.

        Returns
        -------
        SummaryPartial
            Within the chunk the moments are two-pass: ``mean = sum x / n``, ``m2 = sum (x - mean)^2``.
        """
        start, n, xs = self._check_chunk(start_index, arrays)
        S, T = len(self.series), self.t_h.size
        if self._moments:
            mean = np.empty((S, T))
            m2 = np.empty((S, T))
        else:
            mean = m2 = np.empty((S, 0))
        vmin, vmax = np.empty((S, T)), np.empty((S, T))
        sketches = []
        cols = {}
        for i, (s, x) in enumerate(zip(self.series, xs, strict=True)):
            if self._moments:
                mean[i] = x.sum(axis=0) / n
                m2[i] = ((x - mean[i]) ** 2).sum(axis=0)
            vmin[i], vmax[i] = x.min(axis=0), x.max(axis=0)
            if self.grids:
                sketches.append(_sketch_chunk(x, self.grids[i]))
            cols.update(self._scalars(s, x))
        scalars = np.array([cols[c] for c in self.scalar_columns]).reshape(len(self.scalar_columns), n)
        sel = self.sampled_index[(self.sampled_index >= start) & (self.sampled_index < start + n)]
        sampled = np.stack([x[sel - start] for x in xs]) if sel.size else np.empty((S, 0, T))
        return SummaryPartial(start=start, n=n, mean=mean, m2=m2, vmin=vmin, vmax=vmax, sketches=tuple(sketches),
                              scalars=scalars, sampled_index=sel.copy(), sampled_values=sampled,
                              fingerprint=self.fingerprint)

    def _scalars(self, label: str, x: np.ndarray) -> dict:
        out = {}
        t = self.t_h
        for name in self.spec.scalars:
            if name == "Cmax":
                out[(label, name)] = x.max(axis=1)
            elif name == "Tmax":
                out[(label, name)] = t[np.argmax(x, axis=1)]
            elif name == "nadir":
                out[(label, name)] = x.min(axis=1)
            elif name == "Tnadir":
                out[(label, name)] = t[np.argmin(x, axis=1)]
            elif name == "AUC":
                out[(label, name)] = _auc(x, self._dt, self.spec.auc_method)
            else:  # time_above
                for thr in self.spec.thresholds_for(label):
                    out[(label, f"time_above_{thr:g}")] = _time_above(x, self._dt, thr)
        return out

    # ---- merging
    def _check_part(self, p, name="parts"):
        if not isinstance(p, SummaryPartial):
            raise PharmsimError(f"{name} must hold SummaryPartial objects from SummaryAccumulator.chunk; got "
                                f"{type(p).__name__}")
        if p.fingerprint != self.fingerprint:
            raise PharmsimError(f"{name} holds a partial from another accumulator (fingerprint "
                                f"{p.fingerprint!r}, expected {self.fingerprint!r}): spec, t_h, series_labels, "
                                f"n_total and seed must match")

    def combine(self, a: SummaryPartial, b: SummaryPartial) -> SummaryPartial:
        """One partial for two adjacent blocks (``b.start == a.start + a.n``), e.g. for a tree reduction.

        Mean and M2 follow Chan, Golub & LeVeque (1979), "Updating formulae and a pairwise algorithm for
        computing sample variances", Stanford STAN-CS-79-773 (see also Chan, Golub & LeVeque 1983, Am Stat
        37:242, doi:10.1080/00031305.1983.10483115; Welford 1962, Technometrics 4:419,
        doi:10.1080/00401706.1962.10490022):

        ``n = n_a + n_b,  d = mean_b - mean_a,  mean = mean_a + d n_b / n,  M2 = M2_a + M2_b + d^2 n_a n_b / n``.

        A different tree of combinations changes mean and SD by round-off only; :meth:`merge` always folds left
        in subject order, so its result is reproducible bit for bit.
        """
        self._check_part(a, "a")
        self._check_part(b, "b")
        if b.start != a.start + a.n:
            raise PharmsimError(f"b must start where a ends (subject {a.start + a.n}); got b.start = {b.start}")
        mean, m2, vmin, vmax, sketches = _combine_stats(a, b)
        return SummaryPartial(start=a.start, n=a.n + b.n, mean=mean, m2=m2, vmin=vmin, vmax=vmax,
                              sketches=sketches, scalars=np.concatenate([a.scalars, b.scalars], axis=1),
                              sampled_index=np.concatenate([a.sampled_index, b.sampled_index]),
                              sampled_values=np.concatenate([a.sampled_values, b.sampled_values], axis=1),
                              fingerprint=self.fingerprint)

    def merge(self, parts: Sequence[SummaryPartial]) -> SummaryResult:
        """The summaries of the whole run from partials covering subjects 0..N-1 exactly once.

        Partials are sorted by ``start`` and folded left (``((p0 + p1) + p2) + ...``), so the result does not
        depend on the order in which they are given, and the same partials always give the same bits.
        """
        parts = list(parts) if not isinstance(parts, SummaryPartial) else [parts]
        if not parts:
            raise PharmsimError("parts must hold at least one SummaryPartial; got none")
        for p in parts:
            self._check_part(p)
        parts.sort(key=lambda p: p.start)
        expect = 0
        for p in parts:
            if p.start != expect:
                what = "a gap" if p.start > expect else "an overlap"
                raise PharmsimError(f"parts must cover subjects 0..{self.n_total - 1} exactly once; {what} at "
                                    f"subject {min(p.start, expect)} (a partial starts at {p.start}, expected "
                                    f"{expect})")
            expect = p.start + p.n
        if expect != self.n_total:
            raise PharmsimError(f"parts must cover subjects 0..{self.n_total - 1}; they end at subject {expect - 1}")

        acc = parts[0]
        mean, m2, vmin, vmax, sketches = acc.mean, acc.m2, acc.vmin, acc.vmax, acc.sketches
        n = acc.n
        for p in parts[1:]:
            cur = SummaryPartial(start=0, n=n, mean=mean, m2=m2, vmin=vmin, vmax=vmax, sketches=sketches,
                                 scalars=np.empty((0, 0)), sampled_index=np.empty(0, np.int64),
                                 sampled_values=np.empty((0, 0, 0)), fingerprint=self.fingerprint)
            mean, m2, vmin, vmax, sketches = _combine_stats(cur, p)
            n += p.n
        scalars = np.empty((len(self.scalar_columns), self.n_total))
        for p in parts:
            scalars[:, p.start:p.start + p.n] = p.scalars
        sampled_values = np.concatenate([p.sampled_values for p in parts], axis=1)
        return self._result(mean, m2, vmin, vmax, sketches, scalars, sampled_values)

    def finalize(self, partial: SummaryPartial) -> SummaryResult:
        """:meth:`merge` of one partial that covers every subject (e.g. the root of a tree of :meth:`combine`)."""
        return self.merge([partial])

    def _result(self, mean, m2, vmin, vmax, sketches, scalars, sampled_values) -> SummaryResult:
        spec, N = self.spec, self.n_total
        S, T = len(self.series), self.t_h.size
        sd = None
        const = vmin == vmax  # every subject has the same value: mean and SD are known exactly
        if spec.mean or spec.sd:
            mean = np.where(const, vmin, np.clip(mean, vmin, vmax))
        if spec.sd:
            sd = np.sqrt(np.maximum(m2, 0.0) / (N - 1)) if N > 1 else np.full((S, T), np.nan)
            sd[const & (N > 1)] = 0.0
        qs = np.empty((S, len(spec.quantiles), T))
        notes = []
        if spec.sd:
            notes.append("sd: sample standard deviation (ddof = 1), merged with Chan, Golub & LeVeque (1979)")
        if "AUC" in spec.scalars:
            notes.append(f"AUC: {spec.auc_method} trapezoid over t_h = {self.t_h[0]:g}..{self.t_h[-1]:g} h")
        if "time_above" in spec.scalars:
            notes.append("time_above: time with value > threshold, crossings interpolated linearly")
        for i, (sk, g) in enumerate(zip(sketches, self.grids, strict=True)):
            qs[i] = sketch_quantile(sk, g, spec.quantiles, vmin[i], vmax[i])
            over = int(sk.above.sum() + sk.below.sum())
            bound = f"alpha |Q| + {g.floor:g}"
            if sk.neg.any() or sk.below.any():
                bound += (" where the two order statistics next to Q have one sign, alpha max(|x_(k)|, |x_(k+1)|) "
                          f"+ {g.floor:g} where they straddle 0")
            notes.append(f"quantiles of {self.series[i]!r}: DDSketch log buckets, relative accuracy "
                         f"alpha = {g.alpha:g} on |x| in ({g.floor:g}, {g.ceiling:g}], |x| <= {g.floor:g} counted "
                         f"as 0; |Q_hat - Q| <= {bound}"
                         + (f"; {over} value(s) beyond +-{g.ceiling:g} (quantiles that need them are NaN)"
                            if over else ""))
        return SummaryResult(spec=spec, t_h=self.t_h, series=self.series, n_subjects=N,
                             mean=mean if spec.mean else None, sd=sd, vmin=vmin, vmax=vmax, quantiles=qs,
                             sketches=tuple(sketches), grids=self.grids, scalar_columns=self.scalar_columns,
                             scalar_values=scalars, sampled_index=self.sampled_index.copy(),
                             sampled_values=sampled_values, notes=tuple(notes))


# --------------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class SummaryResult:
    """Summaries of a whole population run (from :meth:`SummaryAccumulator.merge`).

    Arrays are indexed by series (in ``series`` order): ``mean``, ``sd``, ``vmin``, ``vmax`` (S, T) (``mean``/
    ``sd`` None when not asked for); ``quantiles`` (S, Q, T) for ``spec.quantiles``; ``scalar_values`` (C, N)
    with ``scalar_columns`` (series, name); ``sampled_values`` (S, k, T) for subjects ``sampled_index``. The
    merged sketches are kept, so :meth:`quantile` answers any other percentile with the same bound. ``notes``
    state the methods and bounds.
    """

    spec: Summaries
    t_h: np.ndarray
    series: tuple[str, ...]
    n_subjects: int
    mean: np.ndarray | None
    sd: np.ndarray | None
    vmin: np.ndarray
    vmax: np.ndarray
    quantiles: np.ndarray
    sketches: tuple[QuantileSketch, ...]
    grids: tuple[LogGrid, ...]
    scalar_columns: tuple[tuple[str, str], ...]
    scalar_values: np.ndarray
    sampled_index: np.ndarray
    sampled_values: np.ndarray
    notes: tuple[str, ...] = ()

    def _series_index(self, series: str) -> int:
        if series not in self.series:
            raise PharmsimError(f"series must be one of {list(self.series)}; got {series!r}"
                                f"{suggest(str(series), self.series)}")
        return self.series.index(series)

    def _series_list(self, series) -> list[str]:
        if series is None:
            return list(self.series)
        out = [series] if isinstance(series, str) else list(series)
        for s in out:
            self._series_index(s)
        return out

    def quantile(self, series: str, q) -> np.ndarray:
        """Per-time percentile(s) ``q`` of one series from the merged sketch (see :func:`sketch_quantile`)."""
        i = self._series_index(series)
        if not self.sketches:
            raise PharmsimError("quantile needs a sketch; the spec kept none (Summaries(quantiles=()))")
        return sketch_quantile(self.sketches[i], self.grids[i], q, self.vmin[i], self.vmax[i])

    def get(self, series: str, statistic: str) -> np.ndarray:
        """(T,) values of one statistic of one series: 'mean', 'sd', 'min', 'max' or 'p<q>' (e.g. 'p50')."""
        i = self._series_index(series)
        known = self.spec.statistics
        if statistic in ("mean", "sd") and statistic in known:
            return (self.mean if statistic == "mean" else self.sd)[i]
        if statistic == "min":
            return self.vmin[i]
        if statistic == "max":
            return self.vmax[i]
        if statistic in known:
            return self.quantiles[i, known.index(statistic) - known.index("max") - 1]
        if isinstance(statistic, str) and statistic.startswith("p") and self.sketches:
            try:
                q = float(statistic[1:])
            except ValueError:
                q = None
            if q is not None and 0 <= q <= 100:
                return self.quantile(series, q)
        raise PharmsimError(f"statistic must be one of {list(known)}" + (" or 'p<q>' with q in [0, 100]"
                                                                         if self.sketches else "")
                            + f"; got {statistic!r}{suggest(str(statistic), known)}")

    def table(self, statistics=None, series=None) -> pd.DataFrame:
        """Tidy per-time summaries: columns ``time_h, series, statistic, value``.

        ``statistics`` defaults to ``spec.statistics`` (mean, sd, min, max, p<q>...); ``series`` to all.
        """
        stats = list(self.spec.statistics) if statistics is None else (
            [statistics] if isinstance(statistics, str) else list(statistics))
        frames = []
        T = self.t_h.size
        for s in self._series_list(series):
            for st in stats:
                frames.append(pd.DataFrame({"time_h": self.t_h, "series": [s] * T, "statistic": [st] * T,
                                            "value": self.get(s, st)}))
        if not frames:
            return pd.DataFrame(columns=["time_h", "series", "statistic", "value"])
        return pd.concat(frames, ignore_index=True)

    def scalars(self, series=None) -> pd.DataFrame:
        """Per-subject scalars: one row per (series, subject), columns ``subject, series`` then the scalar
        names (``Cmax, Tmax, AUC, nadir, Tnadir, time_above_<threshold>``; NaN where a series lacks one)."""
        wanted = self._series_list(series)
        names = list(dict.fromkeys(c for s, c in self.scalar_columns if s in wanted))
        frames = []
        N = self.n_subjects
        for s in wanted:
            cols = {"subject": np.arange(N), "series": pd.Categorical([s] * N, categories=wanted)}
            for c in names:
                key = (s, c)
                cols[c] = (self.scalar_values[self.scalar_columns.index(key)] if key in self.scalar_columns
                           else np.full(N, np.nan))
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)

    def scalar_summary(self) -> pd.DataFrame:
        """Exact summaries across subjects of every per-subject scalar: columns ``series, scalar, statistic,
        value`` with statistics mean, sd (ddof = 1), min, ``p<q>`` for ``spec.quantiles`` (numpy 'linear'),
        max."""
        rows = []
        qs = list(self.spec.quantiles)
        for (s, c), v in zip(self.scalar_columns, self.scalar_values, strict=True):
            stats = {"mean": v.mean(), "sd": v.std(ddof=1) if v.size > 1 else np.nan, "min": v.min()}
            if qs:
                stats.update(zip(map(_pname, qs), np.percentile(v, qs), strict=True))
            stats["max"] = v.max()
            rows += [{"series": s, "scalar": c, "statistic": k, "value": float(x)} for k, x in stats.items()]
        return pd.DataFrame(rows, columns=["series", "scalar", "statistic", "value"])

    def sampled(self, series=None) -> pd.DataFrame:
        """Full trajectories of the sampled subjects: columns ``subject, time_h, series, value``."""
        T, k = self.t_h.size, self.sampled_index.size
        frames = [pd.DataFrame({"subject": np.repeat(self.sampled_index, T), "time_h": np.tile(self.t_h, k),
                                "series": [s] * (k * T),
                                "value": self.sampled_values[self._series_index(s)].reshape(-1)})
                  for s in self._series_list(series)]
        return pd.concat(frames, ignore_index=True)
