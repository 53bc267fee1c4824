"""The result of a simulation: arrays per quantity, with tidy (long) tables and summaries on request.

A :class:`Result` keeps each output as an (N subjects, T times) array labelled by quantity, compound,
receptor, endpoint and unit (:class:`Series`). :meth:`Result.tidy` gives the long table a teacher can
``query`` and plot without learning pharmsim's classes (columns ``subject, time_h, quantity, compound,
receptor, endpoint, value, unit``); :meth:`Result.wide` one quantity as a time x column table;
:meth:`Result.summary` population medians and 5-95 % bands; :meth:`Result.nca` non-compartmental
statistics of the plasma profiles; :meth:`Result.endpoint_summary` peaks and times of each response.

Not for: solving (see :mod:`pharmsim.model`), plotting (see :mod:`pharmsim.plots`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .validate import (
    PharmsimError,
    as_float_array,
    require_finite,
    require_names,
    require_number,
    require_sequence,
    suggest,
)

__all__ = ["Series", "Result", "TIDY_COLUMNS"]

TIDY_COLUMNS = ["subject", "time_h", "quantity", "compound", "receptor", "endpoint", "value", "unit"]


@dataclass(frozen=True)
class Series:
    """One output over time for every subject: ``values`` has shape (N, T)."""

    quantity: str
    compound: str
    receptor: str
    endpoint: str
    unit: str
    values: np.ndarray

    def __post_init__(self):
        for name in ("quantity", "compound", "receptor", "endpoint", "unit"):
            if not isinstance(getattr(self, name), str):
                raise PharmsimError(f"Series.{name} must be a string ('-' when it does not apply); got "
                                    f"{getattr(self, name)!r}"[:200])
        values = as_float_array("Series.values", self.values)
        if values.ndim != 2:
            raise PharmsimError(f"Series.values must be an (N subjects, T times) array; got shape {values.shape}")
        object.__setattr__(self, "values", values)


@dataclass(frozen=True)
class Result:
    """Outputs of :func:`pharmsim.model.simulate` on the grid ``t_h``; ``notes`` state modelling choices."""

    t_h: np.ndarray
    series: tuple[Series, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        t = np.atleast_1d(require_finite("Result.t_h", self.t_h, "h"))
        if t.ndim != 1:
            raise PharmsimError(f"Result.t_h must be a 1-D array of times (h); got shape {t.shape}")
        series = require_sequence("Result.series", self.series, Series, "a pharmsim Series")
        for s in series:
            if s.values.shape[1] != t.size:
                raise PharmsimError(f"Result.t_h must have one time per column of every series; Series "
                                    f"{s.quantity}/{s.compound} has {s.values.shape[1]} times and t_h {t.size}")
        object.__setattr__(self, "t_h", t)
        object.__setattr__(self, "series", series)
        object.__setattr__(self, "notes", require_names("Result.notes", self.notes))

    @property
    def n_subjects(self) -> int:
        return int(self.series[0].values.shape[0]) if self.series else 0

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.quantity for s in self.series))

    def select(self, quantity: str | None = None, compound: str | None = None, receptor: str | None = None,
               endpoint: str | None = None) -> tuple[Series, ...]:
        """The series matching every given label."""
        if quantity is not None and quantity not in self.quantities:
            raise PharmsimError(f"quantity must be one of {list(self.quantities)}; got {quantity!r}"
                                f"{suggest(quantity, self.quantities)}")
        want = {"quantity": quantity, "compound": compound, "receptor": receptor, "endpoint": endpoint}
        return tuple(s for s in self.series if all(v is None or getattr(s, k) == v for k, v in want.items()))

    def get(self, quantity: str, compound: str | None = None, receptor: str | None = None,
            endpoint: str | None = None) -> np.ndarray:
        """The (N, T) array of exactly one series."""
        found = self.select(quantity, compound, receptor, endpoint)
        if len(found) != 1:
            labels = [(s.compound, s.receptor, s.endpoint) for s in self.select(quantity)]
            raise PharmsimError(
                f"{len(found)} series match quantity={quantity!r}, compound={compound!r}, receptor={receptor!r}, "
                f"endpoint={endpoint!r}; expected exactly one. Available (compound, receptor, endpoint): {labels}")
        return found[0].values

    def tidy(self, quantities=None, subjects=None) -> pd.DataFrame:
        """Long table with columns :data:`TIDY_COLUMNS` (one row per subject, time and series)."""
        qs = None if quantities is None else ([quantities] if isinstance(quantities, str) else list(quantities))
        if qs is not None:
            for q in qs:
                self.select(q)  # validates the name
        subj = np.arange(self.n_subjects) if subjects is None else np.atleast_1d(subjects)
        if subj.size and (subj.min() < 0 or subj.max() >= self.n_subjects):
            raise PharmsimError(f"subjects must be in 0..{self.n_subjects - 1}; got {subj.tolist()}")
        T = self.t_h.size
        frames = []
        for s in self.series:
            if qs is not None and s.quantity not in qs:
                continue
            frames.append(pd.DataFrame({
                "subject": np.repeat(subj, T), "time_h": np.tile(self.t_h, subj.size), "quantity": s.quantity,
                "compound": s.compound, "receptor": s.receptor, "endpoint": s.endpoint,
                "value": s.values[subj].reshape(-1), "unit": s.unit}))
        if not frames:
            return pd.DataFrame(columns=TIDY_COLUMNS)
        return pd.concat(frames, ignore_index=True)[TIDY_COLUMNS]

    def wide(self, quantity: str, subject: int = 0) -> pd.DataFrame:
        """One quantity for one subject as a table: ``time_h`` then one column per compound/receptor/endpoint."""
        cols = {"time_h": self.t_h}
        for s in self.select(quantity):
            label = ":".join(x for x in (s.compound, s.receptor, s.endpoint) if x not in ("-", "all"))
            cols[f"{label or quantity} ({s.unit})"] = s.values[subject]
        return pd.DataFrame(cols)

    def summary(self, quantities=None, lower: float = 5.0, upper: float = 95.0) -> pd.DataFrame:
        """Population median and percentile band per time: columns time_h, quantity, compound, receptor,
        endpoint, unit, median, p_lower, p_upper, n_subjects."""
        lower, upper = require_number("lower", lower), require_number("upper", upper)
        if not 0 <= lower < upper <= 100:
            raise PharmsimError(f"percentiles must satisfy 0 <= lower < upper <= 100; got {lower}, {upper}")
        qs = None if quantities is None else ([quantities] if isinstance(quantities, str) else list(quantities))
        frames = []
        for s in self.series:
            if qs is not None and s.quantity not in qs:
                continue
            lo, med, hi = np.percentile(s.values, [lower, 50.0, upper], axis=0)
            frames.append(pd.DataFrame({"time_h": self.t_h, "quantity": s.quantity, "compound": s.compound,
                                        "receptor": s.receptor, "endpoint": s.endpoint, "unit": s.unit,
                                        "median": med, f"p{lower:g}": lo, f"p{upper:g}": hi,
                                        "n_subjects": s.values.shape[0]}))
        return pd.concat(frames, ignore_index=True)

    def nca(self, compounds=None) -> pd.DataFrame:
        """Non-compartmental statistics (:func:`pharmsim.nca.nca`) of each subject's plasma profile (nM)."""
        from .nca import nca

        rows = []
        for s in self.select("plasma_conc"):
            if compounds is not None and s.compound not in compounds:
                continue
            for i in range(s.values.shape[0]):
                if not np.any(s.values[i] > 0):
                    continue
                rows.append(nca(self.t_h, s.values[i]).to_frame(subject=i, compound=s.compound))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def endpoint_summary(self) -> pd.DataFrame:
        """Per subject and endpoint: peak response (fraction of Em), time of the peak, response at the end."""
        rows = []
        for s in (s for s in self.series if s.quantity == "response"):   # none: a model without endpoints read
            k = np.argmax(s.values, axis=1)
            for i in range(s.values.shape[0]):
                rows.append({"subject": i, "receptor": s.receptor, "endpoint": s.endpoint,
                             "peak_response": float(s.values[i, k[i]]), "time_of_peak_h": float(self.t_h[k[i]]),
                             "response_at_end": float(s.values[i, -1]), "unit": s.unit})
        return pd.DataFrame(rows)
