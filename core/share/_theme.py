"""The house look outside the app: the logo files and the colours and fonts of the slides deck and the report, taken
from `core.common.charts` (the same palette the charts and `.streamlit/config.toml` use)."""
from __future__ import annotations

from pathlib import Path

from core.common.charts import BAD, CAUTION, FONT, GOOD, INK, MUTED, PALETTE

STATIC = Path(__file__).resolve().parents[2] / "static"
LOGO = STATIC / "logo.svg"              # icon and word mark (st.logo, the deck, the report)
LOGO_ICON = STATIC / "logo_icon.svg"    # icon only (the collapsed sidebar)
SOFT = "#f4f6fa"                        # the theme's secondary background

CSS_FONT = ", ".join(f"'{name.strip()}'" if " " in name.strip() else name.strip() for name in FONT.split(","))
CSS_VARS = (f":root{{--md-blue:{GOOD};--md-orange:{PALETTE[1]};--md-good:{GOOD};--md-bad:{BAD};"
            f"--md-caution:{CAUTION};--md-muted:{MUTED};--md-ink:{INK};--md-soft:{SOFT};--md-font:{CSS_FONT};}}")


def logo_svg(icon: bool = False) -> str:
    """The logo as inline SVG text ('' when the file is missing, e.g. in an installed package without it)."""
    path = LOGO_ICON if icon else LOGO
    return path.read_text(encoding="utf-8") if path.exists() else ""
