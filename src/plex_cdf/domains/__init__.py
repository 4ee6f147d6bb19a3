"""One module per domain: its resource rows (one per Plex endpoint) and its pure transforms."""
