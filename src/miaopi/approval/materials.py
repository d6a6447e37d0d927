"""Materials (申请材料): what is fetched by sharing, satisfied by a licence already held (免提交: one
in the shared licence library, or one Miaopi issued itself),
uploaded, or replaced by a commitment (告知承诺) — and what is still missing.

Trust levels follow 国办函〔2016〕108号: A issued by a government body (a held licence, shared
data), C uploaded by the applicant, D made by the applicant with a commitment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from miaopi.approval.intake import IntakeError, MaterialIn
from miaopi.approval.uploads import content_hash
from miaopi.catalog import Item
from miaopi.catalog.model import Material, MaterialSource

TRUST_ORDER = "ABCD"
LICENCE_FIELDS = ("licence_type_name", "licence_number", "valid_from", "valid_to", "status")


@dataclass(frozen=True)
class MaterialsCheck:
    materials: list[dict[str, Any]]
    waived: int
    missing: list[str]
    below_trust: list[str]


def _valid_on(licence: dict[str, Any], on: dt.date) -> bool:
    valid_from, valid_to = licence.get("valid_from"), licence.get("valid_to")
    return (
        licence.get("status") in (None, "有效")
        and (valid_from is None or valid_from <= on)
        and (valid_to is None or on <= valid_to)
    )


def check_materials(
    item: Item,
    provided: Sequence[MaterialIn],
    commitments: Sequence[str],
    held: Sequence[dict[str, Any]],
    on: dt.date,
    keep_upload: Callable[[str, bytes], None],
) -> MaterialsCheck:
    """What each of the item's materials is satisfied by. An uploaded file is handed to
    ``keep_upload`` with its content hash (stored with the case); IntakeError names a bad material."""
    by_name = {material.name: material for material in item.materials}
    given: dict[str, tuple[int, MaterialIn]] = {}
    for index, offered in enumerate(provided):
        if offered.name not in by_name:
            raise IntakeError(f"materials[{index}].name", f"事项“{item.name}”不需要材料“{offered.name}”")
        if (offered.licence_number is None) == (offered.file is None):
            raise IntakeError(
                f"materials[{index}]",
                "每项材料须且只须给出 licence_number（已持有的证照）或 file（上传文件）",
            )
        given[offered.name] = (index, offered)
    for index, name in enumerate(commitments):
        if name not in by_name:
            raise IntakeError(f"commitments[{index}]", f"事项“{item.name}”没有材料“{name}”")
    results: list[dict[str, Any]] = []
    waived = 0
    missing: list[str] = []
    below: list[str] = []
    for material in item.materials:
        entry: dict[str, Any] = {"name": material.name, "required": material.required}
        if material.name in given:
            index, supplied = given[material.name]
            if supplied.licence_number is not None:
                licence = _held_licence(held, material, on, supplied.licence_number)
                if licence is None:
                    raise IntakeError(
                        f"materials[{index}].licence_number",
                        f"名下没有编号为“{supplied.licence_number}”的有效证照"
                        + (f"（需为{material.licence_type}）" if material.licence_type else ""),
                    )
                entry.update(_licence_entry(licence))
                waived += 1
            else:
                assert supplied.file is not None
                try:
                    content = supplied.file.content()
                except ValueError as error:
                    raise IntakeError(f"materials[{index}].file.content_base64", str(error)) from None
                if not content:
                    raise IntakeError(f"materials[{index}].file", "上传的文件为空")
                digest = content_hash(content)
                keep_upload(digest, content)
                entry.update(
                    status="uploaded",
                    trust="C",
                    filename=supplied.file.filename,
                    content_type=supplied.file.content_type,
                    size=len(content),
                    content_hash=digest,
                )
        elif material.source is MaterialSource.SHARED:
            entry.update(status="shared", trust="A")
            waived += 1
        elif (
            material.source is MaterialSource.ISSUED
            and (licence := _held_licence(held, material, on)) is not None
        ):
            entry.update(_licence_entry(licence))
            waived += 1
        elif material.name in commitments:
            entry.update(status="committed", trust="D")
        elif material.required:
            entry.update(status="missing")
            missing.append(material.name)
        else:
            entry.update(status="not_provided")
        trust = entry.get("trust")
        if (
            trust
            and material.min_trust_level
            and TRUST_ORDER.index(trust) > TRUST_ORDER.index(material.min_trust_level)
        ):
            below.append(material.name)
        results.append(entry)
    return MaterialsCheck(results, waived, missing, below)


def _licence_entry(licence: dict[str, Any]) -> dict[str, Any]:
    """How a material satisfied by a licence is recorded: which licence, of which type, from where
    (``miaopi``: a licence this platform issued and signed; ``shared``: the shared licence library)."""
    return {
        "status": "licence",
        "trust": licence.get("trust", "A"),
        "licence_number": licence["licence_number"],
        "licence_type": licence.get("licence_type_name"),
        "licence_source": licence.get("source", "shared"),
    }


def _held_licence(
    held: Sequence[dict[str, Any]], material: Material, on: dt.date, number: str | None = None
) -> dict[str, Any] | None:
    for licence in held:
        if number is not None and licence.get("licence_number") != number:
            continue
        if material.licence_type and licence.get("licence_type_name") != material.licence_type:
            continue
        if _valid_on(licence, on):
            return licence
    return None
