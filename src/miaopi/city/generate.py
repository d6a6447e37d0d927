"""Generate the synthetic city: every department's shared data as Parquet, the resource catalogue
(resources.yaml) and a manifest (city.json), deterministic for a seed, streamed in chunks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from miaopi.city.catalogue import Resource, write_catalogue
from miaopi.city.enterprise_tables import ENTERPRISE_TABLES, EnterpriseChunk
from miaopi.city.enterprises import Registry
from miaopi.city.person_tables import PERSON_TABLES, PersonChunk
from miaopi.city.population import Population
from miaopi.city.vocab import AS_OF
from miaopi.city.writer import ChunkedWriter, Columns

GENERATOR_VERSION = "1"
CATALOGUE_FILE = "resources.yaml"
MANIFEST_FILE = "city.json"
DEFAULT_SEED = 20261122

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    enterprises: int
    people: int
    chunk_size: int = 200_000  # subject rows (entities or persons) per Parquet row group


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("demo", 3_000, 20_000),
        Scale("district", 160_000, 1_000_000),
        Scale("city", 2_000_000, 10_000_000),
        Scale("province", 18_000_000, 30_000_000),
    )
}


@dataclass(frozen=True, slots=True)
class CityManifest:
    out: Path
    scale: str
    seed: int
    enterprises: int
    people: int
    rows: dict[str, int] = field(default_factory=dict)  # resource code → rows written
    generator_version: str = GENERATOR_VERSION

    def as_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "as_of": AS_OF,
            "enterprises": self.enterprises,
            "people": self.people,
            "rows": self.rows,
            "generator_version": self.generator_version,
            "catalogue": CATALOGUE_FILE,
        }


class CityOutputError(Exception):
    """The output folder cannot be used (not empty and not a previous city output)."""


def resources() -> list[Resource]:
    return [r for r, _ in ENTERPRISE_TABLES] + [r for r, _ in PERSON_TABLES]


def generate_city(
    out: Path,
    scale: str | Scale = "demo",
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    *,
    force: bool = False,
) -> CityManifest:
    """Write the synthetic city under ``out``; same seed and scale give byte-identical files.

    ``out`` must be missing, empty, or a previous city output (replaced), unless ``force``.
    """
    chosen = _scale(scale)
    if seed < 0:
        raise ValueError(f"随机种子必须为非负整数，实际为{seed}")
    out = Path(out)
    _prepare(out, force)
    population = Population(seed, chosen.people)
    registry = Registry(seed, chosen.enterprises, population)
    rows: dict[str, int] = {}

    def enterprise_chunk(r: np.ndarray) -> EnterpriseChunk:
        return EnterpriseChunk(seed, population, registry, r)

    def person_chunk(r: np.ndarray) -> PersonChunk:
        return PersonChunk(seed, population, registry, r)

    rows |= _run_pass(out, "生成法人单位数据", chosen.enterprises, chosen.chunk_size,
                      ENTERPRISE_TABLES, enterprise_chunk, progress)  # fmt: skip
    rows |= _run_pass(
        out, "生成人口数据", chosen.people, chosen.chunk_size, PERSON_TABLES, person_chunk, progress
    )
    write_catalogue(out / CATALOGUE_FILE, resources())
    manifest = CityManifest(out, chosen.name, seed, chosen.enterprises, chosen.people, rows)
    (out / MANIFEST_FILE).write_text(
        json.dumps(manifest.as_json(), ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    return manifest


Chunk = TypeVar("Chunk")


def _run_pass(
    out: Path,
    label: str,
    total: int,
    chunk_size: int,
    tables: Sequence[tuple[Resource, Callable[[Chunk], Columns]]],
    make_chunk: Callable[[np.ndarray], Chunk],
    progress: Progress | None,
) -> dict[str, int]:
    """Generate ``total`` subject rows chunk by chunk, appending each table's rows to its file."""
    writers = [(ChunkedWriter(out, resource), produce) for resource, produce in tables]
    try:
        if progress:
            progress(label, 0, total)
        for start in range(0, total, chunk_size):
            chunk = make_chunk(np.arange(start, min(start + chunk_size, total), dtype=np.int64))
            for writer, produce in writers:
                writer.write(produce(chunk))
            if progress:
                progress(label, min(start + chunk_size, total), total)
    finally:
        for writer, _ in writers:
            writer.close()
    return {writer.resource.code: writer.rows for writer, _ in writers}


def _scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        if scale.enterprises < 1 or scale.people < 1 or scale.chunk_size < 1:
            raise ValueError("规模参数必须为正整数")
        return scale
    if scale not in SCALES:
        raise ValueError(f"未知规模“{scale}”，可选：{'、'.join(SCALES)}")
    return SCALES[scale]


def _prepare(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CityOutputError(f"输出路径“{out}”不是目录")
    if out.is_dir() and any(out.iterdir()):
        if (out / MANIFEST_FILE).is_file() and (out / CATALOGUE_FILE).is_file():
            _remove_previous(out)
        elif not force:
            raise CityOutputError(f"输出目录“{out}”非空，且不是此前生成的城市数据；如确需写入请使用 --force")
    out.mkdir(parents=True, exist_ok=True)


def _remove_previous(out: Path) -> None:
    """Remove a previous city output's files (the department folders, catalogue and manifest)."""
    for resource in resources():
        path = out / resource.path
        if path.exists():
            path.unlink()
    for folder in {(out / r.path).parent for r in resources()}:
        if folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder)
    (out / CATALOGUE_FILE).unlink()
    (out / MANIFEST_FILE).unlink()
