"""The ``miaopi`` command line (Typer + Rich). Each concept contributes its own sub-commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from miaopi import __version__
from miaopi.audit.cli import audit_app
from miaopi.auth import AuthError
from miaopi.catalog.cli import catalog_app
from miaopi.city.cli import city_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment, DeploymentError, ProgressCallback, initialise
from miaopi.deployment.command import open_for_command
from miaopi.events.cli import events_app
from miaopi.identity import IdentifierError, SubjectKind, parse_subject_id
from miaopi.licence.cli import licence_app
from miaopi.notifications.cli import notifications_app
from miaopi.offers.cli import offers_app
from miaopi.proactive.cli import proactive_app
from miaopi.scheduler.cli import scheduler_app
from miaopi.screening.cli import screen_command
from miaopi.sharing.cli import sharing_app

app = typer.Typer(
    name="miaopi",
    help="秒批 Miaopi：基于共享数据的智能审批、免申即享与无感审批平台。",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(city_app, name="city")
app.add_typer(sharing_app, name="sharing")
app.add_typer(catalog_app, name="catalog")
app.add_typer(audit_app, name="audit")
app.add_typer(notifications_app, name="notifications")
app.add_typer(events_app, name="events")
app.add_typer(proactive_app, name="proactive")
app.add_typer(licence_app, name="licence")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(offers_app, name="offers")
app.command("screen")(screen_command)

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录（也可用环境变量 MIAOPI_DATA_DIR），默认 ./data"
    ),
]


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A Rich progress bar driven by ``progress(label, done, total)`` callbacks, one row per label."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        yield report


def _initialise(data_dir: Path | None) -> Deployment:
    settings = load_settings(data_dir)
    try:
        if not settings.marker.exists():
            console.print(f"初始化内置部署（示范数据）：{settings.data_dir}")
        with progress_bar() as report:
            initialise(settings, report)
        return Deployment.open(settings)
    except DeploymentError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None


@app.command()
def init(data_dir: DataDir = None) -> None:
    """初始化数据目录（合成城市数据、示范事项目录、数据库），已初始化则只迁移数据库结构。"""
    deployment = _initialise(data_dir)
    console.print(f"[green]就绪[/green]：{deployment.settings.data_dir}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="监听端口", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="工作进程数（多核时可设为核数）", min=1, max=64)] = 1,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="在主进程后台线程中运行法定时限调度器")
    ] = True,
    notifications: Annotated[
        bool, typer.Option("--notifications/--no-notifications", help="在主进程后台线程中发送通知（发件箱）")
    ] = True,
    data_dir: DataDir = None,
) -> None:
    """启动服务：空数据目录会先自动初始化为内置部署。"""
    import os

    import uvicorn

    from miaopi.api import create_app

    deployment = _initialise(data_dir)
    console.print(f"秒批服务：http://{host}:{port}/api/v1/health  （数据库：{deployment.database.dialect}）")
    if scheduler:
        # Reminders, escalation and deemed approvals; leases make further runners
        # (miaopi scheduler run) safe alongside it.
        deployment.scheduler.start()
    if notifications:
        # The outbox dispatcher; leases make further dispatchers (miaopi notifications dispatch) safe.
        from miaopi.notifications import BackgroundDispatch, Dispatcher

        BackgroundDispatch(Dispatcher(deployment.notifications)).start()
    from miaopi.api.workers import PortInUse, serve_workers
    from miaopi.approval.writer_process import SOCKET_VARIABLE, WriterClient, WriterProcess

    with ExitStack() as stack:
        writer: WriterProcess | None = None
        if deployment.database.one_writer:
            # SQLite takes one writer at a time: decided cases go to one writer process, which
            # commits on a core of its own, while the workers go on deciding.
            writer = WriterProcess(deployment.settings.database_url, deployment.settings.data_dir)
            try:
                stack.enter_context(writer)
            except RuntimeError as error:
                errors.print(f"[red]错误：[/red]{error}")
                raise typer.Exit(1) from None
        if workers == 1:
            if writer is not None:
                deployment.approval.writer.remote = WriterClient(writer.path)
            deployment.warm()
            uvicorn.run(create_app(deployment), host=host, port=port, log_level="warning")
            return
        # Each worker process opens the same deployment itself.
        os.environ["MIAOPI_DATA_DIR"] = str(deployment.settings.data_dir)
        os.environ["MIAOPI_DATABASE_URL"] = deployment.settings.database_url
        if writer is not None:
            os.environ[SOCKET_VARIABLE] = str(writer.path)
        if not scheduler and not notifications:
            deployment.close()  # otherwise kept open in this process for the background threads
        try:
            serve_workers("miaopi.api.asgi:build", host, port, workers, log_level="warning")
        except PortInUse as error:
            errors.print(f"[red]错误：[/red]{error.strerror}（端口已被其他程序占用？）")
            raise typer.Exit(1) from None


@app.command()
def token(
    subject: Annotated[str, typer.Option("--as", help="示范申请人：公民身份号码或统一社会信用代码")],
    data_dir: DataDir = None,
) -> None:
    """（仅示范部署）为示范主体签发登录令牌；生产配置（MIAOPI_DEMO_MODE=0）下不可用。"""
    settings = load_settings(data_dir)
    if not settings.demo_mode:
        errors.print("[red]错误：[/red]生产配置已关闭示范令牌（MIAOPI_DEMO_MODE=0）；请使用账号密码登录")
        raise typer.Exit(2)
    deployment = open_for_command(data_dir)
    try:
        kind, identifier, _warning = parse_subject_id(subject)
    except IdentifierError as error:
        errors.print(f"[red]错误：[/red]{error.message}")
        raise typer.Exit(2) from None
    if kind is SubjectKind.PERSON:
        verification = deployment.verifier.verify_person(identifier)
        if not verification.passed:
            errors.print(f"[red]实名核验未通过：[/red]{verification.reason}")
            raise typer.Exit(1)
    else:
        representative = deployment.verifier.registry.legal_representative(identifier)
        if representative is None:
            errors.print("[red]错误：[/red]市场主体登记中没有该统一社会信用代码")
            raise typer.Exit(1)
    account = deployment.accounts.ensure_applicant(identifier, verified=True)
    print(deployment.accounts.issue_token(account.id))


@app.command()
def officer(
    username: Annotated[str, typer.Argument(help="工作人员用户名")],
    department: Annotated[str, typer.Option(help="所属部门代码（见 miaopi sharing resources 的部门）")],
    role: Annotated[str, typer.Option(help="reviewer（审核人员）或 supervisor（科室负责人）")] = "reviewer",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="登录密码")
    ] = "",
    data_dir: DataDir = None,
) -> None:
    """新增部门工作人员账号。"""
    deployment = open_for_command(data_dir)
    if department not in deployment.exchange.catalogue.departments:
        errors.print(f"[red]错误：[/red]部门“{department}”未登记")
        raise typer.Exit(2)
    try:
        deployment.accounts.add_officer(username, department, password, role)
    except AuthError as error:
        errors.print(f"[red]错误：[/red]{error.message}")
        raise typer.Exit(2) from None
    console.print(f"[green]已创建[/green]：{username}（{department}，{role}）")


@app.command()
def replay(case_no: Annotated[str, typer.Argument(help="办件编号")], data_dir: DataDir = None) -> None:
    """用存证和原版本重新判定一个办件，报告“一致”或差异。"""
    from miaopi.approval import replay as replay_case

    deployment = open_for_command(data_dir)
    try:
        with deployment.database.session() as session:
            result = replay_case(session, deployment.catalog, case_no)
    except LookupError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    if result.identical:
        console.print(f"identical — 办件 {case_no} 重放结果与原决定一致")
        return
    console.print(f"[red]different[/red] — 办件 {case_no} 重放结果与原决定不同：")
    for difference in result.differences:
        console.print(f"  - {difference}", highlight=False)
    raise typer.Exit(1)


@app.command()
def version() -> None:
    """显示版本。"""
    console.print(f"miaopi {__version__}")
