"""Rephrase a corpus from the command line: `python run.py --input docs/`. See `--help`."""

import sys

from polyphrase.cli import main

if __name__ == "__main__":
    sys.exit(main())
