"""`python -m flow.runtime <bundle> [--sim] ...`: `flow run` on a board that has only the runtime."""

import sys

from flow.runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
