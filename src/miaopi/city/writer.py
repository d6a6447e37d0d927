"""One generic writer for every table: columns → Arrow table typed by the catalogue → Parquet row
groups, streamed chunk by chunk so memory stays bounded whatever the scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from miaopi.city.catalogue import ARROW_TYPES, Resource
from miaopi.city.population import NULL_DAY

Columns = dict[str, Any]  # field name → numpy array or Arrow array


def to_table(resource: Resource, columns: Columns) -> pa.Table:
    """An Arrow table with exactly the resource's fields, in order, with the catalogue's types."""
    missing = [f.name for f in resource.fields if f.name not in columns]
    extra = sorted(set(columns) - {f.name for f in resource.fields})
    if missing or extra:
        raise ValueError(
            f"{resource.code}: columns do not match the catalogue (missing {missing}, extra {extra})"
        )
    arrays = []
    for field in resource.fields:
        values = columns[field.name]
        arrow_type = ARROW_TYPES[field.type]
        if isinstance(values, pa.Array | pa.ChunkedArray):
            arrays.append(values.cast(arrow_type))
        elif field.type == "date":
            days = np.asarray(values, dtype=np.int64)
            null = days == NULL_DAY
            arrays.append(
                pa.array(np.where(null, 0, days).astype(np.int32), type=pa.int32(), mask=null).cast(
                    arrow_type
                )
            )
        else:
            arrays.append(pa.array(values, type=arrow_type))
    return pa.Table.from_arrays(arrays, schema=resource.schema)


class ChunkedWriter:
    """Writes one resource's Parquet file, one row group per chunk."""

    def __init__(self, root: Path, resource: Resource) -> None:
        self.resource = resource
        self.path = root / resource.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows = 0
        self._writer = pq.ParquetWriter(
            self.path, resource.schema, compression="zstd", write_statistics=True, use_dictionary=True
        )

    def write(self, columns: Columns) -> None:
        table = to_table(self.resource, columns)
        if table.num_rows:
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
