"""``python -m lib``: see :mod:`lib.cli`."""
from .cli import main

raise SystemExit(main())
