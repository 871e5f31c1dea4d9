"""``python -m vmacheck …``: the same command line as the ``vmacheck`` script."""

from __future__ import annotations

import sys

from vmacheck.checker.cli import main

sys.exit(main())
