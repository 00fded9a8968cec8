"""Every user-facing text, in catalogs per locale (Japanese default, English)."""

from messages.catalog import Catalog, load_catalog

__all__ = ["Catalog", "load_catalog"]
