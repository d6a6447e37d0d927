"""Synthetic city (合成城市): realistic, deterministic department data with valid ID numbers and
credit codes, and the resource catalogue that describes it, at demo, district, city and province
scale. See ``generate_city`` and the ``miaopi city generate`` command."""

from pathlib import Path

from miaopi.city.catalogue import catalogue_document
from miaopi.city.generate import SCALES, CityManifest, CityOutputError, Scale, generate_city, resources
from miaopi.sharing import ResourceCatalogue


def builtin_resource_catalogue(base: Path | None = None) -> ResourceCatalogue:
    """The resource catalogue of the synthetic city, without generating any data (for checking a
    catalogue of items against it). Paths resolve against ``base`` (default: the current folder)."""
    return ResourceCatalogue.from_document(
        catalogue_document(resources()), base=base or Path("."), origin="miaopi.city"
    )


__all__ = [
    "SCALES",
    "CityManifest",
    "CityOutputError",
    "Scale",
    "builtin_resource_catalogue",
    "generate_city",
    "resources",
]
