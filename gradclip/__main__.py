"""`python -m gradclip` is the `gradclip` command."""

from gradclip.cli import main

raise SystemExit(main())
