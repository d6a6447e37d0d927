"""Data sharing (数据共享): the resource catalogue, authorisation by purpose, reads with evidence,
and the access log.
"""

from miaopi.sharing.access_log import AccessCounts, AccessLog, AccessRecord
from miaopi.sharing.catalogue import (
    CatalogueError,
    Department,
    Field,
    Resource,
    ResourceCatalogue,
    SharingType,
)
from miaopi.sharing.evidence import Evidence, content_hash
from miaopi.sharing.exchange import PopulationRead, ResourceRead, SharingExchange, SubjectFacts
from miaopi.sharing.grants import AccessRefused, Grant, GrantRegistry

__all__ = [
    "AccessCounts",
    "AccessLog",
    "AccessRecord",
    "AccessRefused",
    "CatalogueError",
    "Department",
    "Evidence",
    "Field",
    "Grant",
    "GrantRegistry",
    "PopulationRead",
    "Resource",
    "ResourceCatalogue",
    "ResourceRead",
    "SharingExchange",
    "SharingType",
    "SubjectFacts",
    "content_hash",
]
