"""Memory (issue 12): 200 page loads across every page in one process stay within SOAK_BOUND_MB of the memory after
the first cycle (every cache bounded by max_entries / ttl). The figures are printed (-s)."""
from __future__ import annotations

import pytest

from benchmarks.soak import SOAK_BOUND_MB, soak


@pytest.mark.timeout(1800)
def test_200_page_loads_keep_memory_within_the_bound(fresh_home):
    result = soak(200)
    print(f"\n{result.loads} page loads in {result.seconds:.0f} s: {result.warm_mb:.0f} MB after the first cycle, "
          f"{result.end_mb:.0f} MB at the end ({result.growth_mb:+.0f} MB; bound {SOAK_BOUND_MB} MB), "
          f"peak {result.peak_mb:.0f} MB")
    assert not result.errors, result.errors[:5]
    assert result.growth_mb < SOAK_BOUND_MB


def test_every_cache_in_ui_is_bounded():
    """Each st.cache_data / st.cache_resource in ui/ says max_entries or ttl (an unbounded cache grows forever)."""
    import re
    from pathlib import Path
    unbounded = []
    for path in sorted((Path(__file__).resolve().parents[1] / "ui").glob("*.py")):
        for call in re.findall(r"^\s*@st\.cache_(?:data|resource)(\([^)]*\))?", path.read_text(), re.M):
            if "max_entries" not in call and "ttl" not in call:
                unbounded.append(f"{path.name}: @st.cache_…{call}")
    assert unbounded == []
