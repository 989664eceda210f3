"""``python -m deltacheck``: the ``deltacheck`` command."""
import sys

from deltacheck import main

sys.exit(main())
