import sys

from emocause.cli.app import main

sys.exit(main())
