"""`python -m app`: the same as the `tracepane` command."""

import sys

from app.cli import main

sys.exit(main())
