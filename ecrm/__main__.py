"""``python -m ecrm`` runs the command line."""

from ecrm.cli import main

main()
