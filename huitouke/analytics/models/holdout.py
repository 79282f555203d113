"""Calibration/holdout check of a purchase model: predicted vs actual repeat purchases by past frequency.

The classic BTYD check (Fader, Hardie & Lee 2005, figure 4): fit on the calibration period, predict each
customer's purchases in the holdout period from her calibration history, and compare the mean of the
prediction with the mean actually seen, for customers grouped by calibration frequency 0, 1, … max+.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HoldoutGroups:
    """Per group (frequency 0 … max_frequency, the last meaning "max or more"): customers and mean purchases."""

    max_frequency: int
    customers: np.ndarray
    actual_mean: np.ndarray  # NaN for an empty group
    predicted_mean: np.ndarray


def by_calibration_frequency(
    *, frequency: np.ndarray, actual: np.ndarray, predicted: np.ndarray, max_frequency: int = 7
) -> HoldoutGroups:
    """Group customers by calibration frequency (capped at `max_frequency`) and average both counts."""
    group = np.minimum(frequency.astype(np.int64), max_frequency)
    size = max_frequency + 1
    customers = np.bincount(group, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual_mean = np.bincount(group, weights=actual, minlength=size) / customers
        predicted_mean = np.bincount(group, weights=predicted, minlength=size) / customers
    return HoldoutGroups(max_frequency, customers, actual_mean, predicted_mean)
