"""``python -m descent.train`` (see :mod:`descent.train.cli`)."""

import sys

from .cli import main

sys.exit(main())
