"""cdf side."""
