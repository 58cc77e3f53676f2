"""Wiring: `python -m stack` entry."""

import sys

from stack.cli import main

sys.exit(main())
