"""Rewrite docs/config.schema.json from the configuration models: `python scripts/regenerate_config_schema.py`
(an optional argument names another target file)."""

from plex_cdf.config.schema import main

if __name__ == "__main__":
    main()
