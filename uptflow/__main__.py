"""``python -m uptflow`` is the same as the ``uptflow`` command."""

import sys

from uptflow.cli import main

sys.exit(main())
