"""The versions of the libraries that produced a result (stored with explanations and in the report)."""
from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

LIBRARIES = ("scikit-learn", "torch", "numpy", "pandas", "plotly", "streamlit", "shap", "lime", "optuna", "skops")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """{'python': '3.11.7', 'scikit-learn': '1.7.2', …} for the installed libraries ModelDeck relies on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
