"""Metrics that work offline."""

from gankit.metrics.modes import ModeReport, count_modes

__all__ = ["ModeReport", "count_modes"]
