"""``python -m sim``: the ``vta`` command line (:mod:`sim.cli`)."""

import sys

from .cli import main

sys.exit(main())
