"""Metrics that work offline."""

from gankit.metrics.divergences import (
    js_divergence,
    js_from_samples_1d,
    kl_divergence,
    kl_from_samples_1d,
    wasserstein1_1d,
    wasserstein1_2d,
    wasserstein1_histograms,
)
from gankit.metrics.frechet import feature_stats, frechet_distance, frechet_distance_from_features
from gankit.metrics.kid import kernel_inception_distance
from gankit.metrics.modes import ModeReport, count_modes
# The one-pass prdc() stays in gankit.metrics.prdc: exporting it here would hide that module.
from gankit.metrics.prdc import density_coverage, precision_recall

__all__ = [
    "ModeReport", "count_modes",
    "feature_stats", "frechet_distance", "frechet_distance_from_features",
    "kernel_inception_distance",
    "precision_recall", "density_coverage",
    "kl_divergence", "js_divergence", "kl_from_samples_1d", "js_from_samples_1d",
    "wasserstein1_1d", "wasserstein1_histograms", "wasserstein1_2d",
]
