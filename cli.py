#!/usr/bin/env python3
"""Run the midistyle command line from a checkout: ``python cli.py --help`` == ``midistyle --help``."""
import sys

from midistyle.cli import main

if __name__ == "__main__":
    sys.exit(main())
