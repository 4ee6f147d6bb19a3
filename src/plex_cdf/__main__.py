from plex_cdf.cli import main

main()
