"""`python -m hicachectl` runs the CLI."""

from hicachectl.cli import main

raise SystemExit(main())
