"""The simulated plex."""
