"""``python -m contextzip`` runs the command line."""

from contextzip.cli import main

raise SystemExit(main())
