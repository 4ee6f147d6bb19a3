"""state side."""
