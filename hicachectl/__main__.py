"""`python -m hicachectl` runs the CLI."""

from hicachectl.entry import main

raise SystemExit(main())
