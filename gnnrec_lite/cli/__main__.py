"""``python -m gnnrec_lite.cli``: the same as the ``gnnrec`` command."""

import sys

from . import main

sys.exit(main())
