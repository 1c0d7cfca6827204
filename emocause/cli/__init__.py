"""The ``emocause`` command line: thin adapters over the library (see :mod:`emocause.cli.app`)."""
