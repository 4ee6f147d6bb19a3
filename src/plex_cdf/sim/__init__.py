"""The local world plex-cdf is tested in: a simulated Plex and a local CDF. Never imports the product."""
