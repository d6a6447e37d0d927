"""Chinese message templates with named variables, validated when they are loaded.

The templates that ship with the package (``templates.yaml`` beside this module) may be overridden
or extended by ``notifications.yaml`` in the catalogue directory, with the same shape::

    templates:
      offer.made:
        title: 免申即享：{policy}
        text: 您符合「{policy}」的享受条件……
        sms: 【秒批】您符合{policy}条件……      # optional short form for SMS
        variables: {policy: 政策名称, ...}

A template is refused at load when it lacks a title or text, uses a placeholder it does not declare,
declares a variable no text uses, or uses anything but a plain ``{name}`` placeholder.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PACKAGED = Path(__file__).with_name("templates.yaml")
OVERRIDE_FILE = "notifications.yaml"
TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
VARIABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TEXT_FIELDS = {"title": "标题", "text": "正文", "sms": "短信正文"}


class TemplateError(ValueError):
    """A template file is wrong; the message names the file, the template and the reason."""


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    text: str
    sms: str | None
    variables: Mapping[str, str]  # name → what it is (Chinese), for the catalogue officer

    def render(self, values: Mapping[str, str]) -> tuple[str, str, str]:
        """Title, full text and SMS text (the full text when there is no short form)."""
        title = self.title.format_map(values)
        text = self.text.format_map(values)
        sms = self.sms.format_map(values) if self.sms is not None else text
        return title, text, sms


def _placeholders(where: str, text: str) -> set[str]:
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"{where}：花括号不成对（{error}）；字面花括号请写作 {{{{ 或 }}}}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not VARIABLE_NAME.match(name) or spec or conversion:
            raise TemplateError(
                f"{where}：占位符 {{{name}}} 无效，只允许 {{变量名}}（小写字母、数字、下划线）"
            )
        names.add(name)
    return names


def _template(source: str, name: object, spec: object) -> Template:
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        raise TemplateError(
            f"{source}：模板名 {name!r} 无效，应为小写字母、数字、下划线，以点分隔，如 offer.made"
        )
    where = f"{source}：模板 {name}"
    if not isinstance(spec, dict):
        raise TemplateError(f"{where}：应为包含 title、text、variables 的对象")
    unknown = set(spec) - {*TEXT_FIELDS, "variables"}
    if unknown:
        raise TemplateError(f"{where}：未知字段 {', '.join(sorted(map(str, unknown)))}")
    texts: dict[str, str] = {}
    for field, label in TEXT_FIELDS.items():
        value = spec.get(field)
        if value is None and field == "sms":
            continue
        if not isinstance(value, str) or not value.strip():
            raise TemplateError(f"{where}：缺少{label}（{field}）")
        texts[field] = value.strip()
    declared = spec.get("variables") or {}
    if not isinstance(declared, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in declared.items()
    ):
        raise TemplateError(f"{where}：variables 应为 变量名: 说明 的对象")
    for variable in declared:
        if not VARIABLE_NAME.match(variable):
            raise TemplateError(f"{where}：变量名 {variable!r} 无效（小写字母、数字、下划线）")
    used: set[str] = set()
    for field, text in texts.items():
        names = _placeholders(f"{where} 的 {field}", text)
        undeclared = names - set(declared)
        if undeclared:
            raise TemplateError(
                f"{where} 的 {field}：占位符 {', '.join('{' + n + '}' for n in sorted(undeclared))} 未在 variables 中声明"
            )
        used |= names
    unused = set(declared) - used
    if unused:
        raise TemplateError(f"{where}：变量 {', '.join(sorted(unused))} 已声明但没有任何文字使用")
    return Template(
        name=name,
        title=texts["title"],
        text=texts["text"],
        sms=texts.get("sms"),
        variables=dict(declared),
    )


def load_template_file(path: Path) -> dict[str, Template]:
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}：不是合法的 YAML（{error}）") from None
    if not isinstance(document, dict) or not isinstance(document.get("templates"), dict):
        raise TemplateError(f"{path}：应有顶层字段 templates（模板名: 模板）")
    return {name: _template(str(path), name, spec) for name, spec in document["templates"].items()}


class Templates:
    """The templates in force: the packaged ones, then the catalogue's overrides and additions."""

    def __init__(self, templates: Mapping[str, Template]) -> None:
        self._templates = dict(templates)

    @classmethod
    def load(cls, catalog_dir: Path | None = None) -> Templates:
        templates = load_template_file(PACKAGED)
        if catalog_dir is not None and (catalog_dir / OVERRIDE_FILE).exists():
            templates.update(load_template_file(catalog_dir / OVERRIDE_FILE))
        return cls(templates)

    def get(self, name: str) -> Template | None:
        return self._templates.get(name)

    def names(self) -> list[str]:
        return sorted(self._templates)

    def __contains__(self, name: object) -> bool:
        return name in self._templates
