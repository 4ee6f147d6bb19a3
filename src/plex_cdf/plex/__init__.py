"""plex side."""
