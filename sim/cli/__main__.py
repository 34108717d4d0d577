"""``python -m sim.cli``: the ``vta`` command line."""

import sys

from . import main

sys.exit(main())
