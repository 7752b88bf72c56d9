"""``python -m midistyle.cli`` == ``midistyle``."""
import sys

from . import main

sys.exit(main())
