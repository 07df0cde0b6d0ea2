"""``python -m book``: build the course site (see :mod:`book.site`)."""

import sys

from book.site import main

sys.exit(main())
