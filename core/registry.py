"""The school registry: every school of the country, loaded from CSV or Parquet and validated row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from core.errors import CoreError, Problem, problems_from_pydantic
from core.school import School

COLUMNS: tuple[str, ...] = tuple(School.model_fields)
SYNTHETIC_MARK = "SYNTHETIC"
_PARQUET_NOTES_KEY = b"mektepnet.notes"


@dataclass(frozen=True)
class Registry:
    """An immutable set of schools keyed by school id, with the notes of the file's header."""

    schools: tuple[School, ...]
    notes: tuple[str, ...] = ()
    _by_id: dict[str, School] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {school.school_id: school for school in self.schools})

    def __len__(self) -> int:
        return len(self.schools)

    def __iter__(self) -> Iterator[School]:
        return iter(self.schools)

    def __contains__(self, school_id: object) -> bool:
        return school_id in self._by_id

    def __getitem__(self, school_id: str) -> School:
        return self._by_id[school_id]

    def get(self, school_id: str) -> School | None:
        """The school with this id, or None."""
        return self._by_id.get(school_id)

    @property
    def synthetic(self) -> bool:
        """True when the file says it is synthetic (generated, not real schools)."""
        return any(SYNTHETIC_MARK in note for note in self.notes)

    def to_frame(self):
        """A pandas DataFrame, one row per school; shifts as 'HH:MM-HH:MM;...' text."""
        import pandas as pd

        return pd.DataFrame([_row(school) for school in self.schools], columns=list(COLUMNS))

    def save(self, path: str | Path) -> None:
        """Write CSV (notes as leading '# ' lines) or Parquet (notes in the schema metadata) by suffix."""
        path = Path(path)
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
            metadata = dict(table.schema.metadata or {})
            metadata[_PARQUET_NOTES_KEY] = "\n".join(self.notes).encode()
            pq.write_table(table.replace_schema_metadata(metadata), path)
            return
        buffer = io.StringIO()
        for note in self.notes:
            buffer.write(f"# {note}\n")
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for school in self.schools:
            record = _row(school)
            record["ungraded"] = "true" if school.ungraded else "false"
            writer.writerow(record)
        path.write_text(buffer.getvalue(), encoding="utf-8")


def load_registry(path: str | Path) -> Registry:
    """Load and validate a registry file (.csv or .parquet); raise CoreError listing every bad row."""
    path = Path(path)
    if not path.is_file():
        raise CoreError.one(path, "path", str(path), "no such file")
    if path.suffix == ".parquet":
        notes, rows = _read_parquet(path)
    else:
        notes, rows = _read_csv(path)
    return _validate(path, notes, rows)


def _validate(path: Path, notes: list[str], rows: Iterable[tuple[int, dict]]) -> Registry:
    problems: list[Problem] = []
    schools: list[School] = []
    first_row: dict[str, int] = {}
    for row_number, record in rows:
        try:
            school = School.model_validate(record)
        except ValidationError as exc:
            problems.extend(problems_from_pydantic(exc, path, row_number))
            continue
        if school.school_id in first_row:
            problems.append(Problem(str(path), "school_id", school.school_id,
                                    f"duplicate school id (first in row {first_row[school.school_id]})", row_number))
            continue
        first_row[school.school_id] = row_number
        schools.append(school)
    if not schools and not problems:
        problems.append(Problem(str(path), "(rows)", None, "the registry holds no schools"))
    if problems:
        raise CoreError(problems)
    return Registry(tuple(schools), tuple(notes))


def _check_header(path: Path, header: list[str] | None, row: int) -> None:
    present = set(header or [])
    missing = [column for column in COLUMNS if column not in present]
    if missing:
        raise CoreError([Problem(str(path), column, None, "required column is missing", row) for column in missing])


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CoreError.one(path, "encoding", exc.reason, "the file is not UTF-8 text") from None
    lines = text.splitlines(keepends=True)
    notes: list[str] = []
    while len(notes) < len(lines) and lines[len(notes)].startswith("#"):
        notes.append(lines[len(notes)][1:].strip())
    offset = len(notes)
    reader = csv.DictReader(io.StringIO("".join(lines[offset:])))
    _check_header(path, reader.fieldnames, offset + 1)

    def rows() -> Iterator[tuple[int, dict]]:
        for record in reader:
            known = {column: record[column] for column in COLUMNS if record.get(column) is not None}
            yield offset + reader.line_num, known

    return notes, rows()


def _read_parquet(path: Path) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise CoreError.one(path, "file", path.name, f"not a readable Parquet file ({exc})") from None
    raw_notes = (table.schema.metadata or {}).get(_PARQUET_NOTES_KEY, b"").decode()
    _check_header(path, table.column_names, 0)
    records = table.select(list(COLUMNS)).to_pylist()
    return [n for n in raw_notes.splitlines() if n], ((index + 1, record) for index, record in enumerate(records))


def _row(school: School) -> dict:
    record = school.model_dump(mode="json")
    record["shifts"] = ";".join(str(shift) for shift in school.shifts)
    record["contracted_bps"] = int(school.contracted_bps)
    return record
