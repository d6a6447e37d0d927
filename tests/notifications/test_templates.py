"""Templates: the packaged set, catalogue overrides, and refusal of broken templates at load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from miaopi.catalog import DEMO_CATALOG
from miaopi.catalog.cli import catalog_app
from miaopi.notifications import TemplateError, Templates

NEEDED = {
    "offer.made": {"policy", "amount", "deadline"},
    "offer.expiring": {"policy", "amount", "deadline"},
    "proactive.prepared": {"item", "link"},
    "proactive.reminder": {"item", "link", "deadline"},
    "proactive.decided": {"item", "result", "link"},
    "benefit.paid": {"policy", "amount"},
    "case.decided": {"case_no", "item", "outcome"},
    "review.reminder": {"case_no", "item", "deadline"},
    "review.escalation": {"case_no", "item", "deadline", "overdue_days"},
}


def test_the_packaged_templates_load_with_the_variables_others_rely_on() -> None:
    templates = Templates.load()
    for name, variables in NEEDED.items():
        template = templates.get(name)
        assert template is not None, name
        assert set(template.variables) == variables, name
    title, text, sms = templates.get("proactive.prepared").render(  # type: ignore[union-attr]
        {"item": "食品经营许可证变更", "link": "https://miaopi.example/p/abc"}
    )
    assert title == "无感审批：食品经营许可证变更已为您准备好"
    assert "https://miaopi.example/p/abc" in text and sms.startswith("【秒批】")


def write(directory: Path, templates: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "notifications.yaml").write_text(
        yaml.safe_dump({"templates": templates}, allow_unicode=True), encoding="utf-8"
    )
    return directory


def test_the_catalogue_overrides_and_adds(tmp_path: Path) -> None:
    catalog = write(
        tmp_path,
        {
            "offer.made": {
                "title": "好消息：{policy}",
                "text": "{policy} {amount} {deadline}",
                "variables": {"policy": "政策", "amount": "金额", "deadline": "期限"},
            },
            "licence.issued": {
                "title": "证照已签发",
                "text": "您的{licence}已签发。",
                "variables": {"licence": "证照名称"},
            },
        },
    )
    templates = Templates.load(catalog)
    assert templates.get("offer.made").title == "好消息：{policy}"  # type: ignore[union-attr]
    assert templates.get("offer.made").sms is None  # type: ignore[union-attr]
    assert "licence.issued" in templates and "case.decided" in templates


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ({"title": "t", "text": "您好 {name}", "variables": {}}, "占位符 {name} 未在 variables 中声明"),
        ({"title": "t", "variables": {}}, "缺少正文（text）"),
        ({"title": " ", "text": "x", "variables": {}}, "缺少标题（title）"),
        ({"title": "t", "text": "x", "variables": {"a": "甲"}}, "变量 a 已声明但没有任何文字使用"),
        ({"title": "t", "text": "{a!r}", "variables": {"a": "甲"}}, "占位符 {a} 无效"),
        ({"title": "t", "text": "{a.b}", "variables": {"a": "甲"}}, "占位符 {a.b} 无效"),
        ({"title": "t", "text": "{a", "variables": {"a": "甲"}}, "花括号不成对"),
        ({"title": "t", "text": "x", "body": "y"}, "未知字段 body"),
        ({"title": "t", "text": "x", "sms": "{b}", "variables": {}}, "sms：占位符 {b} 未在 variables 中声明"),
    ],
)
def test_a_broken_template_is_refused_at_load_with_a_clear_reason(
    tmp_path: Path, template: dict[str, object], reason: str
) -> None:
    with pytest.raises(TemplateError) as refused:
        Templates.load(write(tmp_path, {"custom.one": template}))
    assert "模板 custom.one" in str(refused.value) and reason in str(refused.value)


def test_a_bad_template_name_or_file_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="模板名 'Bad Name' 无效"):
        Templates.load(write(tmp_path / "a", {"Bad Name": {"title": "t", "text": "x"}}))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notifications.yaml").write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="应有顶层字段 templates"):
        Templates.load(tmp_path / "b")


def test_catalog_check_refuses_a_broken_notification_template(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(DEMO_CATALOG, catalog)
    runner = CliRunner()
    assert runner.invoke(catalog_app, ["check", str(catalog)]).exit_code == 0
    write(
        catalog,
        {"offer.made": {"title": "{policy}", "text": "{policy}{amount}", "variables": {"policy": "政策"}}},
    )
    result = runner.invoke(catalog_app, ["check", str(catalog)])
    assert result.exit_code == 1
    assert "通知模板有误" in result.output and "占位符 {amount} 未在 variables 中声明" in result.output
