"""The simulated cdf."""
