"""The public resource catalogue (metadata only — no data) and access figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from miaopi.api.dependencies import deployment
from miaopi.deployment import Deployment

router = APIRouter(prefix="/sharing", tags=["数据共享"])


class FieldOut(BaseModel):
    name: str
    type: str
    label: str


class ResourceOut(BaseModel):
    code: str
    name: str
    classification: str | None
    provider: str
    provider_name: str
    sharing: str
    sharing_label: str
    update_cycle: str
    subject: str
    records: str
    fields: list[FieldOut]


class AccessCountsOut(BaseModel):
    total: int
    by_resource: dict[str, int]
    by_department: dict[str, int]


@router.get("/resources", response_model=list[ResourceOut], summary="信息资源目录")
def resources(current: Annotated[Deployment, Depends(deployment)]) -> list[ResourceOut]:
    catalogue = current.exchange.catalogue
    return [
        ResourceOut(
            code=resource.code,
            name=resource.name,
            classification=resource.classification,
            provider=resource.provider,
            provider_name=catalogue.departments[resource.provider].name,
            sharing=resource.sharing.value,
            sharing_label=resource.sharing.label,
            update_cycle=resource.update_cycle,
            subject=resource.subject.value,
            records="many" if resource.many else "one",
            fields=[
                FieldOut(name=field.name, type=field.type, label=field.label) for field in resource.fields
            ],
        )
        for resource in catalogue.resources.values()
    ]


@router.get("/access-counts", response_model=AccessCountsOut, summary="共享数据调用次数（按资源、按部门）")
def access_counts(current: Annotated[Deployment, Depends(deployment)]) -> AccessCountsOut:
    with current.database.session() as session:
        counts = current.exchange.access_log.counts(session)
    return AccessCountsOut(
        total=counts.total, by_resource=counts.by_resource, by_department=counts.by_department
    )
