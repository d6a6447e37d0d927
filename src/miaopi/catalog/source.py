"""Reading catalogue files: YAML with the line of every mapping and key kept, and problems reported
with file and line (``miaopi catalog check``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class LocatedDict(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LocatedDict:  # type: ignore[override]
        mapping = LocatedDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in mapping:
                raise yaml.constructor.ConstructorError(None, None, f"重复的键“{key}”", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LocatedList:
        items = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        items.line = node.start_mark.line + 1
        return items


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class CatalogError(ValueError):
    """The catalogue has static errors; ``problems`` lists each with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass
class Problems:
    """Collects problems while a catalogue loads, so one run reports all of them."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: Path | str, line: int, message: str) -> None:
        self.items.append(Problem(str(file), line, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise CatalogError(self.items)


def load_yaml(path: Path, problems: Problems) -> LocatedDict | None:
    """Parse one file; a syntax error becomes a problem at its line and None is returned."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.add(path, 0, f"无法读取文件：{error}")
        return None
    try:
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        problems.add(path, line, f"YAML 语法错误：{error.problem or error.context}")
        return None
    except yaml.YAMLError as error:
        problems.add(path, 0, f"YAML 语法错误：{error}")
        return None
    if not isinstance(document, LocatedDict):
        problems.add(path, 1, "文件顶层应为映射（键: 值）")
        return None
    return document
