"""emocause: mine the causes of emotions in software developers' communication.

The Python API (see docs/python-api.md)::

    import emocause
    result = emocause.classify(df, backend="openai", model="gpt-4o-mini")
    result.frame, result.counts, result.manifest

Names are imported on first use (PEP 562), so ``import emocause`` stays light:
no pandas, no torch, no HTTP client until a function needs them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("emocause")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

#: public name -> the module that defines it
_API: dict[str, str] = {
    # annotate: classify and extract causes on a table
    "classify": "emocause.annotate.jobs",
    "extract_causes": "emocause.annotate.jobs",
    "estimate": "emocause.annotate.jobs",
    "Result": "emocause.annotate.jobs",
    "Estimate": "emocause.annotate.jobs",
    "ClassifyOptions": "emocause.annotate.jobs",
    "CauseOptions": "emocause.annotate.jobs",
    "MaxFailed": "emocause.annotate.jobs",
    # backends
    "get_backend": "emocause.backends",
    "BackendOptions": "emocause.backends",
    "Backend": "emocause.backends",
    "Request": "emocause.backends",
    "Response": "emocause.backends",
    # evaluate
    "score_emotions": "emocause.evaluate.scoring",
    "score_causes": "emocause.evaluate.scoring",
    # report
    "build_report": "emocause.report.pipeline",
    # sources
    "scrape_github": "emocause.sources.api",
    "scrape_mbox": "emocause.sources.api",
    "scrape_pipermail": "emocause.sources.api",
    "scrape_hyperkitty": "emocause.sources.api",
    # errors a caller may catch
    "UsageError": "emocause.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'emocause' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
