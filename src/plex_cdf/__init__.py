"""plex-cdf: keeps Cognite Data Fusion current with a Plex Manufacturing Cloud tenant."""

__version__ = "0.1.0"
