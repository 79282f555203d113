"""The CDNOW sample (2,357 customers, 39-week calibration) as shipped with `lifetimes`, used only in tests."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest

with (
    warnings.catch_warnings()
):  # lifetimes 0.11 warns about pandas options on import; import it once, quietly
    warnings.simplefilter("ignore")
    import lifetimes  # noqa: F401


@dataclass(frozen=True)
class Cdnow:
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray
    frame: object  # the pandas DataFrame, for calling lifetimes


@pytest.fixture(scope="session")
def cdnow() -> Cdnow:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

        frame = load_cdnow_summary_data_with_monetary_value()
    columns = {
        name: frame[name].to_numpy(dtype=float) for name in ("frequency", "recency", "T", "monetary_value")
    }
    return Cdnow(**columns, frame=frame)
