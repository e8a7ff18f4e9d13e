"""``python -m mxtls`` runs the command line."""

from mxtls.cli.main import main

main()
