"""``python -m evaluation.detection``: see evaluation.detection.cli."""

import sys

from .cli import main

sys.exit(main())
