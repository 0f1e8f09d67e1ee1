"""`python -m flow.cli`: the `flow` console script."""

import sys

from flow.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
