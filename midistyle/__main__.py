"""``python -m midistyle`` == ``midistyle``."""
import sys

from .cli import main

sys.exit(main())
