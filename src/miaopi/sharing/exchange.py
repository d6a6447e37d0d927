"""The sharing exchange (共享交换): every read of shared data goes through here, authorised by purpose,
logged, and — for one subject — answered with evidence.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from miaopi.identity import parse_subject_id
from miaopi.sharing.access_log import AccessLog, AccessRecord
from miaopi.sharing.catalogue import CatalogueError, ResourceCatalogue
from miaopi.sharing.evidence import Evidence, content_hash
from miaopi.sharing.grants import AccessRefused, GrantRegistry
from miaopi.sharing.sources import Record, Source, open_source, quote_identifier


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class PopulationRead:
    """One purpose's request to read whole resources."""

    department: str
    purpose: str
    requests: Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class ResourceRead:
    resource: str
    records: list[Record]
    evidence: Evidence


@dataclass
class SubjectFacts:
    """What was read about one subject: the records per resource, each with its evidence."""

    subject: str
    reads: dict[str, ResourceRead] = field(default_factory=dict)

    def records(self, resource: str) -> list[Record]:
        return self.reads[resource].records

    def one(self, resource: str) -> Record | None:
        records = self.reads[resource].records
        return records[0] if records else None

    def evidence(self) -> list[Evidence]:
        return [read.evidence for read in self.reads.values()]


class SharingExchange:
    def __init__(
        self,
        catalogue: ResourceCatalogue,
        grants: GrantRegistry,
        access_log: AccessLog | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.catalogue = catalogue
        self.grants = grants
        self.access_log = access_log or AccessLog()
        self._clock = clock
        self._sources: dict[str, Source] = {}
        self._lock = threading.Lock()

    def source(self, code: str) -> Source:
        source = self._sources.get(code)
        if source is None:
            with self._lock:
                source = self._sources.get(code)
                if source is None:
                    source = open_source(self.catalogue.resource(code))
                    self._sources[code] = source
        return source

    def warm(self, requests: Mapping[str, Sequence[str]]) -> None:
        """Load indexes and columns ahead of traffic (``miaopi serve`` does this at start-up)."""
        for code, fields in requests.items():
            warm = getattr(self.source(code), "warm", None)
            if warm is not None:
                warm(fields)

    def read_subject(
        self,
        *,
        department: str,
        purpose: str,
        subject: str,
        requests: Mapping[str, Sequence[str]],
        case_no: str | None = None,
    ) -> SubjectFacts:
        """All requested fields about one person or enterprise, each resource with its evidence.

        Every resource is checked against the grants before anything is read: one refused resource
        refuses the whole read, and nothing is logged as read.
        """
        _kind, identifier, _warning = parse_subject_id(subject)
        checked = {
            code: self.grants.check(department, purpose, code, fields) for code, fields in requests.items()
        }
        facts = SubjectFacts(subject=identifier)
        read_at = self._clock()
        for code, fields in checked.items():
            source = self.source(code)
            records = source.records(identifier, fields)
            resource = source.resource
            facts.reads[code] = ResourceRead(
                resource=code,
                records=records,
                evidence=Evidence(
                    resource=code,
                    provider=resource.provider,
                    source=resource.location,
                    read_at=read_at,
                    content_hash=content_hash(records),
                    rows=len(records),
                ),
            )
            self.access_log.record(
                AccessRecord(
                    read_at=read_at,
                    department=department,
                    purpose=purpose,
                    case_no=case_no,
                    subject=identifier,
                    resource=code,
                    fields=fields,
                    rows=len(records),
                )
            )
        return facts

    def population(
        self,
        *,
        department: str,
        purpose: str,
        requests: Mapping[str, Sequence[str]],
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """Make whole resources queryable in DuckDB, each as a view named by its resource code holding
        only the granted fields asked for. With more than one resource, a view ``joined`` also holds
        the first resource left-joined with the others on the subject key (one-record resources only),
        with columns named ``<resource>.<field>``.
        """
        connection = self.population_reads([PopulationRead(department, purpose, requests)], connection)
        if len(requests) > 1:
            checked = {code: tuple(dict.fromkeys(fields)) for code, fields in requests.items()}
            connection.execute(f"CREATE OR REPLACE VIEW joined AS {self._join_sql(checked)}")
        return connection

    def population_reads(
        self, reads: Sequence[PopulationRead], connection: duckdb.DuckDBPyConnection | None = None
    ) -> duckdb.DuckDBPyConnection:
        """Several purposes' population reads at once (screening many policies in one pass): each
        read is checked against its own grants and logged under its own purpose; each resource is
        registered once, with the union of the fields the reads asked for.
        """
        connection = connection or duckdb.connect()
        for code, projected in self.authorise_population(reads).items():
            self.source(code).register(connection, code, projected)
        return connection

    def authorise_population(self, reads: Sequence[PopulationRead]) -> dict[str, tuple[str, ...]]:
        """Check and log several purposes' population reads (each against its own grants, under its
        own purpose) and return what may be read: per resource, its key and the union of the granted
        fields. ``population_reads`` registers these in DuckDB; other engines (Spark) read them
        themselves."""
        fields_by_resource: dict[str, dict[str, None]] = {}
        for read in reads:
            for code, fields in read.requests.items():
                granted = self.grants.check(read.department, read.purpose, code, fields)
                fields_by_resource.setdefault(code, {}).update(dict.fromkeys(granted))
        projections: dict[str, tuple[str, ...]] = {}
        rows: dict[str, int] = {}
        for code, union in fields_by_resource.items():
            source = self.source(code)
            projections[code] = tuple(dict.fromkeys((source.resource.key, *union)))
            rows[code] = source.row_count()
        read_at = self._clock()
        for read in reads:
            for code, fields in read.requests.items():
                self.access_log.record(
                    AccessRecord(
                        read_at=read_at,
                        department=read.department,
                        purpose=read.purpose,
                        case_no=None,
                        subject=None,
                        resource=code,
                        fields=tuple(fields),
                        rows=rows[code],
                    )
                )
        return projections

    def _join_sql(self, checked: Mapping[str, Sequence[str]]) -> str:
        codes = list(checked)
        base = self.catalogue.resource(codes[0])
        for code in codes[1:]:
            other = self.catalogue.resource(code)
            if other.many:
                raise CatalogueError(f"资源“{code}”每个主体有多条记录，不能直接连接；请按主体汇总后使用")
            if other.subject is not base.subject:
                raise AccessRefused(f"资源“{code}”与“{base.code}”的主体类型不同，不能连接")
        aliases = {code: f"r{index}" for index, code in enumerate(codes)}
        columns = [f"r0.{quote_identifier(base.key)} AS subject"]
        for code, fields in checked.items():
            columns += [
                f"{aliases[code]}.{quote_identifier(name)} AS {quote_identifier(f'{code}.{name}')}"
                for name in fields
            ]
        joins = [
            f"LEFT JOIN {quote_identifier(code)} {aliases[code]} "
            f"ON {aliases[code]}.{quote_identifier(self.catalogue.resource(code).key)} = r0.{quote_identifier(base.key)}"
            for code in codes[1:]
        ]
        return f"SELECT {', '.join(columns)} FROM {quote_identifier(codes[0])} r0 " + " ".join(joins)
