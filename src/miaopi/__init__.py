"""Miaopi (秒批): automated government services from data departments already share."""

__version__ = "0.1.0"
