"""``python -m reference.cli``: the ``deltacheck`` command."""
import sys

from deltacheck import main

sys.exit(main())
