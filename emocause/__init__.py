"""emocause: mine the causes of emotions in software developers' communication."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("emocause")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
