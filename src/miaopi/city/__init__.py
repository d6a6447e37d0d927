"""Synthetic city (合成城市): realistic, deterministic department data with valid ID numbers and
credit codes, and the resource catalogue that describes it, at demo, district, city and province
scale. See ``generate_city`` and the ``miaopi city generate`` command."""

from miaopi.city.generate import SCALES, CityManifest, CityOutputError, Scale, generate_city, resources

__all__ = ["SCALES", "CityManifest", "CityOutputError", "Scale", "generate_city", "resources"]
