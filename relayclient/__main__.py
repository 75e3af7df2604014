"""``python -m relayclient``: see relayclient.cli."""

import sys

from relayclient.cli import main

if __name__ == "__main__":
    sys.exit(main())
