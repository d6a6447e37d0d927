"""``miaopi licence …``: issuer key rotation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from miaopi.config import load_settings
from miaopi.licence.keys import KeyStore
from miaopi.licence.signing import AlgorithmUnavailable

licence_app = typer.Typer(help="电子证照：签发机关密钥轮换。", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


@licence_app.command("rotate-key")
def rotate_key(
    issuer: Annotated[
        list[str] | None, typer.Option("--issuer", help="签发机关代码（可重复；默认全部签发机关）")
    ] = None,
    algorithm: Annotated[
        str | None,
        typer.Option(
            "--algorithm",
            help="新密钥的签名算法：ed25519（W3C eddsa-jcs-2022）或 sm2（国密，Miaopi 自定义套件 "
            "sm2-jcs-2026，需安装 miaopi[sm]）；省略则沿用各签发机关当前的算法。"
            "对全部签发机关指定时，也作为今后新增签发机关的默认算法",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录，默认 ./data")
    ] = None,
) -> None:
    """启用新的签名密钥：此后签发的证照用新密钥签名，旧密钥只保留公钥，已签发的证照仍可核验。
    加 --algorithm sm2 即改用 SM2（国密）签名；此前以 Ed25519 签发的证照照常可核验。"""
    settings = load_settings(data_dir)
    keys = KeyStore.in_data_dir(settings.data_dir)
    if not keys.path.exists():
        errors.print(f"[red]错误：[/red]数据目录 {settings.data_dir} 中没有签发密钥；请先运行 miaopi init")
        raise typer.Exit(2)
    try:
        rotated = keys.rotate(issuer or None, algorithm)
    except (LookupError, ValueError, AlgorithmUnavailable) as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    for code, key_id in rotated.items():
        console.print(
            f"签发机关 {code}：启用新密钥 {key_id}（{keys.algorithm(code)}；旧密钥仅保留公钥，用于核验已签发的证照）"
        )
    console.print("运行中的服务在下一次签发或核验时自动读取新密钥。")
