"""ModelDeck core: a plain Python library (no Streamlit) behind the dashboard and the command line.

One package per capability; read a package's `__init__` to see what it offers, its `_modules` are private:
`common` (shared helpers) · `data` · `models` · `evaluate` · `runs` · `train` · `explain` · `tune` · `compress` ·
`predict` · `recsys` · `share` · `jobs`. Layers point down only (jobs → share → compress → predict → explain | tune | recsys → train →
runs → evaluate → models → data → common); the rules are import-linter contracts in pyproject.toml.
"""
import os

# OpenMP threads that sleep while they wait instead of spinning (issue 14): on a shared 2-core machine, scikit-learn's
# histogram boosting with 2 spinning threads fitted 200,000 rows in 45.8 s against 5.5 s with this setting (load 6.5).
# Read once when libgomp loads, so it is set before scikit-learn or torch is imported; a value already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from core.common import ModelDeckError  # noqa: E402

__all__ = ["ModelDeckError"]
