"""ModelDeck core: a plain Python library (no Streamlit) behind the dashboard and the CLI."""
from core.common import ModelDeckError

__all__ = ["ModelDeckError"]
