"""ModelDeck core: a plain Python library (no Streamlit) behind the dashboard and the command line.

One package per capability; read a package's `__init__` to see what it offers, its `_modules` are private:
`common` (shared helpers) · `data` · `models` · `evaluate` · `runs` · `train` · `explain` · `tune` · `compress` ·
`predict` · `recsys` · `share`. Layers point down only (share → compress → predict → explain | tune | recsys → train →
runs → evaluate → models → data → common); the rules are import-linter contracts in pyproject.toml.
"""
from core.common import ModelDeckError

__all__ = ["ModelDeckError"]
