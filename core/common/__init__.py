"""What every capability needs: the user-facing error type, where things are kept, the seed, atomic writes,
the progress callback type (and `Cancelled`, what it raises in a cancelled job), number formatting, seeded row samples and library versions. With a shared database (MODELDECK_DB_URL not
SQLite) the files of uploads and run artifacts live in it too: atomic writes store them, `fetch_shared` /
`fetch_shared_tree` bring them, `store_shared_tree` follows a folder swapped in whole, `shared_folder` names another
folder to keep (and removes a folder's copy). The shared chart look is the submodule `core.common.charts` (it
imports plotly, so it is not loaded here)."""
from core.common._blobs import fetch_shared, fetch_shared_tree, shared_folder, store_shared_tree
from core.common._config import DEFAULT_SEED, db_url, home
from core.common._errors import ModelDeckError
from core.common._io import atomic_open, atomic_write
from core.common._numbers import fmt_bytes, fmt_ms, fmt_percent, sample_positions, softmax
from core.common._progress import Cancelled, Progress, Throttle, interrupt_on_sigterm, no_progress, sub_progress
from core.common._versions import library_versions

__all__ = ["DEFAULT_SEED", "db_url", "home", "ModelDeckError", "atomic_open", "atomic_write", "fmt_bytes", "fmt_ms",
           "fmt_percent", "sample_positions", "softmax", "Cancelled", "Progress", "Throttle", "interrupt_on_sigterm", "no_progress", "sub_progress", "library_versions",
           "fetch_shared", "fetch_shared_tree", "shared_folder", "store_shared_tree"]
