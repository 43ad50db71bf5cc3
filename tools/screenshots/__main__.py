"""`python -m tools.screenshots OUTDIR`: regenerate the README screenshots."""

import sys

from tools.screenshots.screenshots import main

sys.exit(main())
