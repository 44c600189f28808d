"""``python -m ecrm`` runs the command line."""

from ecrm.render.cli import main

main()
