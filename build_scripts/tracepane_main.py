"""The bundled program's entry point: the `tracepane` command line (the window by default)."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
