import sys

from emocause.cli import main

sys.exit(main())
