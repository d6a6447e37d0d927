"""Initialise and open a deployment."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from miaopi import __version__
from miaopi.approval import ApprovalService, china_today
from miaopi.approval.uploads import import_files as import_upload_files
from miaopi.auth import (
    VERIFY_DEPARTMENT,
    VERIFY_PURPOSE,
    Accounts,
    DevelopmentVerifier,
    ExchangeRegistryLookup,
)
from miaopi.catalog import DEMO_CATALOG, Catalog, CatalogError, TimeLimit
from miaopi.catalog.facts import LICENCE_FIELDS
from miaopi.clock import CalendarFileError, CalendarUnknownYear, UnknownYears, WorkingCalendar
from miaopi.config import Settings
from miaopi.deployment.collector import tune_for_serving
from miaopi.events import EventIntake
from miaopi.events.scan import scan_grants
from miaopi.licence.keys import KeyStore
from miaopi.licence.service import LicenceService
from miaopi.notifications import NotificationConfig, NotificationConfigError, Notifications, Templates
from miaopi.notifications import TemplateError as NotificationTemplateError
from miaopi.offers import OfferService, payee_grants
from miaopi.proactive import Detector, ProactiveService
from miaopi.review import Ratings, ReviewQueue
from miaopi.review.alerts import DeadlineAlerts
from miaopi.review.corrections import Corrections
from miaopi.review.procedures import SpecialProcedures
from miaopi.scheduler import Scheduler
from miaopi.sharing import CatalogueError, Grant, ResourceCatalogue, SharingExchange
from miaopi.store import Database

ProgressCallback = Callable[[str, int, int], None]
log = logging.getLogger("miaopi.deployment")


class DeploymentError(RuntimeError):
    """The data directory cannot be used as it is; the message says why and what to do."""


def _no_progress(_label: str, _done: int, _total: int) -> None:
    return None


def initialise(settings: Settings, progress: ProgressCallback | None = None) -> bool:
    """Create the embedded deployment in ``settings.data_dir`` if it is not there yet.

    Returns True when something was created. An existing, initialised directory is left as it is
    (its store is still migrated to the newest schema); a non-empty directory that is not a Miaopi
    data directory is refused rather than written into.
    """
    report = progress or _no_progress
    data_dir = settings.data_dir
    if settings.marker.exists():
        report("迁移数据库结构", 0, 1)
        database = Database(settings.database_url)
        database.migrate()
        if (data_dir / "uploads").is_dir():  # kept as files before migration 0015
            import_upload_files(database, data_dir / "uploads")
        database.dispose()
        report("迁移数据库结构", 1, 1)
        return False
    if data_dir.exists() and any(data_dir.iterdir()):
        raise DeploymentError(
            f"数据目录 {data_dir} 不为空，且不是秒批数据目录（缺少 miaopi.json）；请指定一个空目录或已初始化的目录"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        from miaopi.city import generate_city

        generate_city(settings.city_dir, scale=settings.city_scale, seed=settings.city_seed, progress=report)
        if DEMO_CATALOG.exists():
            report("复制示范事项目录", 0, 1)
            shutil.copytree(DEMO_CATALOG, settings.catalog_dir)
            report("复制示范事项目录", 1, 1)
        report("创建数据库", 0, 1)
        database = Database(settings.database_url)
        database.migrate()
        database.dispose()
        report("创建数据库", 1, 1)
    except BaseException:
        # Leave no half-made directory behind: the next start begins afresh.
        for child in data_dir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        raise
    settings.marker.write_text(
        json.dumps(
            {"version": __version__, "city_scale": settings.city_scale, "city_seed": settings.city_seed},
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return True


@dataclass
class Deployment:
    settings: Settings
    database: Database
    exchange: SharingExchange
    catalog: Catalog
    calendar: WorkingCalendar
    accounts: Accounts
    verifier: DevelopmentVerifier
    approval: ApprovalService
    review: ReviewQueue
    ratings: Ratings
    corrections: Corrections
    licences: LicenceService
    notifications: Notifications
    offers: OfferService
    procedures: SpecialProcedures
    alerts: DeadlineAlerts
    scheduler: Scheduler
    events: EventIntake
    proactive: ProactiveService
    problems: list[str] = field(default_factory=list)  # shown by /health: what an operator must fix

    @classmethod
    def open(cls, settings: Settings, *, today: Callable[[], dt.date] = china_today) -> Deployment:
        if not settings.marker.exists():
            raise DeploymentError(
                f"数据目录 {settings.data_dir} 尚未初始化；请先运行 miaopi init 或 miaopi serve"
            )
        try:
            resources = ResourceCatalogue.load(settings.city_dir / "resources.yaml")
        except CatalogueError as error:
            raise DeploymentError(f"信息资源目录有误：{error}") from None
        try:
            catalog = (
                Catalog.load(settings.catalog_dir, resources)
                if (settings.catalog_dir / "facts.yaml").exists()
                else Catalog.empty(settings.catalog_dir, resources)
            )
        except CatalogError as error:
            raise DeploymentError(f"事项目录 {settings.catalog_dir} 有错误，未启动：\n{error}") from None
        override = settings.data_dir / "calendar.yaml"
        try:
            calendar = WorkingCalendar.load(override if override.exists() else None)
        except CalendarFileError as error:
            raise DeploymentError(f"工作日历文件有误，未启动：{error}") from None
        person_registry = catalog.facts.registries.get("person")
        enterprise_registry = catalog.facts.registries.get("enterprise")
        if person_registry and enterprise_registry:
            # The platform's own reads for real-name verification (实名核验).
            catalog.grants.add(
                Grant(VERIFY_DEPARTMENT, VERIFY_PURPOSE, person_registry, frozenset({"death_date"}))
            )
            catalog.grants.add(
                Grant(VERIFY_DEPARTMENT, VERIFY_PURPOSE, enterprise_registry, frozenset({"legal_rep_id"}))
            )
        for department, purpose, registry in payee_grants(catalog):
            # 免申即享: the beneficiary's registered name, for the benefit record and the masked 公示.
            catalog.grants.add(Grant(department, purpose, registry, frozenset({"name"})))
        for grant in scan_grants(catalog):  # the platform's daily scans (licence expiry, ages)
            catalog.grants.add(grant)
        database = Database(settings.database_url)
        exchange = SharingExchange(resources, catalog.grants)
        verifier = DevelopmentVerifier(
            ExchangeRegistryLookup(exchange, person_registry or "", enterprise_registry or "")
        )
        problems: list[str] = []
        unknown_years = UnknownYears(log, "cases left without a deadline")

        def deadline(accepted_on: dt.date, limit: TimeLimit) -> dt.date | None:
            try:
                return calendar.deadline(accepted_on, limit.value, limit.unit)
            except CalendarUnknownYear as error:
                # Loud, never a guess: the case is still decided, its deadline stays open, and the
                # operator sees the missing year in /health and, once an hour, in the log.
                unknown_years.left_open(error)
                if str(error) not in problems:
                    problems.append(str(error))
                return None

        approval = ApprovalService(
            database=database,
            catalog=catalog,
            exchange=exchange,
            verifier=verifier,
            deadline=deadline,
            today=today,
        )
        try:
            notifications = Notifications(
                database,
                Templates.load(settings.catalog_dir),
                NotificationConfig.load(settings.data_dir),
                approval.audit,
            )
        except (NotificationTemplateError, NotificationConfigError) as error:
            raise DeploymentError(f"通知配置有误，未启动：{error}") from None
        if notifications.config.recording and not settings.demo_mode:
            problems.append(
                "以下通知渠道未配置网关，只记录不发送：" + "、".join(notifications.config.recording)
            )
        review = ReviewQueue(database, approval.audit, catalog, calendar)
        corrections = Corrections(approval, calendar)
        alerts = DeadlineAlerts(review, notify=notifications.enqueue)
        # The legal clock's jobs: re-planned in the same transaction as every clock or state change.
        scheduler = Scheduler(alerts, catalog, calendar)
        review.clock_listeners.append(scheduler.plan)
        corrections.clock_listeners.append(scheduler.plan)
        # 电子证照: keys in the data directory (created on first open); approvals issue their licence.
        licences = LicenceService(
            database, catalog, KeyStore.in_data_dir(settings.data_dir), approval.audit, today
        )
        approval.attach_licences(licences, licences.issuer)
        review.licence_issuer = licences.issue_for_case
        # 无感审批: events → triggers → proactive cases, pushed on the channels the deployment has.
        push = tuple(channel for channel in ("inbox", "sms") if channel in notifications.config.channels)
        offers = OfferService(
            database,
            catalog,
            exchange,
            calendar,
            settings.data_dir / "screening",
            notify=notifications.enqueue_many,
            audit=approval.audit,
            today=today,
        )
        # A benefit policy's proactive case ends with its offer confirmed; a stops trigger ends offers.
        proactive = ProactiveService(
            database,
            catalog,
            approval,
            verifier,
            notifications,
            approval.audit,
            today,
            push,
            licences,
            offers,
        )
        return cls(
            settings=settings,
            licences=licences,
            database=database,
            exchange=exchange,
            catalog=catalog,
            calendar=calendar,
            accounts=Accounts(database),
            verifier=verifier,
            approval=approval,
            review=review,
            ratings=Ratings(database, deadline, today, approval.audit),
            corrections=corrections,
            procedures=SpecialProcedures(review),
            alerts=alerts,
            scheduler=scheduler,
            events=EventIntake(
                database,
                Detector(catalog, exchange, notifications, today, push, licences, offers),
                approval.audit,
            ),
            proactive=proactive,
            notifications=notifications,
            offers=offers,
            problems=problems,
        )

    def warm(self) -> None:
        """Before the first request: build the one-subject indexes every item reads, and set the
        garbage collector up for serving."""
        requests: dict[str, set[str]] = {}
        for item in self.catalog.items.values():
            for version in item.versions:
                plan = self.approval.plan_for(item, version)
                for resource, fields in plan.requests.items():
                    requests.setdefault(resource, set()).update(fields)
        # Licences held (免提交) and the registries real-name verification reads.
        for resource in self.catalog.facts.licences.values():
            requests.setdefault(resource, set()).update(LICENCE_FIELDS)
        for kind, resource in self.catalog.facts.registries.items():
            requests.setdefault(resource, set()).add("death_date" if kind == "person" else "legal_rep_id")
        for resource, wanted in self.events.detector.warm_requests().items():  # triggers (无感审批)
            requests.setdefault(resource, set()).update(wanted)
        self.exchange.warm({resource: sorted(fields) for resource, fields in requests.items()})
        # The indexes, catalogue and plans live as long as the process: out of the collector's way.
        tune_for_serving()

    def info(self) -> dict[str, object]:
        marker = json.loads(self.settings.marker.read_text(encoding="utf-8"))
        return {"data_dir": str(self.settings.data_dir), "database": self.database.dialect, **marker}

    def close(self) -> None:
        self.scheduler.stop()
        self.database.dispose()
