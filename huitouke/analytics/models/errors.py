"""Errors of the numeric models; messages are for a shop owner to read, not for a statistician."""

from __future__ import annotations

from huitouke.core.errors import Invalid


class ModelDoesNotFit(Invalid, ValueError):
    """Too little data, an optimiser that failed, or parameters that ran to a boundary of the model."""

    code = "model_does_not_fit"


class InvalidSummary(Invalid, ValueError):
    """The customer summary itself is wrong (negative counts, recency after T, ...)."""

    code = "invalid_summary"


FitError = ModelDoesNotFit
