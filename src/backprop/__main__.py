"""``python -m backprop``: the command line (see ``backprop.cli``)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
