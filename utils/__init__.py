"""spatial-stats-vae: a VAE whose reconstruction loss compares two-point spatial statistics.

The flat public API of the project; each name lives in a small module of its own:

* ``utils.stats``    phase_indicator, autocorrelation, cross_correlation, spatial_statistics,
                     power_spectrum (their Fourier-space form, used by the loss's fast path)
"""
from utils.stats import autocorrelation, cross_correlation, phase_indicator, power_spectrum, spatial_statistics

__all__ = ["autocorrelation", "cross_correlation", "phase_indicator", "power_spectrum", "spatial_statistics"]
