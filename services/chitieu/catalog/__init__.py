"""The target catalog: jurisdictions across the 2025 merger, indicators, plans and their targets."""

from __future__ import annotations


def clear_caches() -> None:
    """Forget cached registries (after the catalog files changed in this process)."""
    from chitieu.catalog import indicators, jurisdictions

    indicators._load.cache_clear()
    jurisdictions._load.cache_clear()
