"""Reading and writing roster sheets: CSV (UTF-8 or GBK) and XLSX, safe against formula injection."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from openpyxl import Workbook, load_workbook

from shared.problems import Problem

# Sheet name → columns, in the order they are imported (parents before what points at them).
SHEETS: dict[str, list[str]] = {
    "units": ["code", "parent_code", "level", "name"],
    "households": ["code", "unit_code", "address", "size", "tags"],
    "people": ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
    "members": ["id_number", "org_unit_code", "joined_on", "status"],
    "roles": ["id_number", "unit_code", "role", "title", "starts_on"],
    "liaisons": ["kind", "id_number", "household_code", "unit_code", "starts_on"],
}
MAX_ROWS = 20_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Rows = list[tuple[int, dict[str, str]]]  # (row number as the user sees it, cells by column)


def unbreakable(value: object) -> str:
    """A cell value that no spreadsheet runs as a formula: risky leading characters get a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    # Undo our own export guard, so an exported file imports unchanged.
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


def _decode(data: bytes, filename: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Offices save CSV from Excel in GBK; GB18030 reads every GBK file.
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Problem(422, "unsupported_encoding", f"{filename}: not UTF-8 or GBK text (byte {exc.start})") from exc


def _rows(header: list[object], body, sheet: str, filename: str) -> Rows:  # noqa: ANN001 - an iterator of rows
    columns = [_cell(h).lower() for h in header]
    known = SHEETS[sheet]
    unknown = [c for c in columns if c and c not in known]
    if unknown:
        raise Problem(422, "unknown_columns", f"{filename}: unknown columns {unknown}; {sheet} takes {known}")
    rows: Rows = []
    for number, values in enumerate(body, start=2):
        cells = {column: _cell(value) for column, value in zip(columns, values, strict=False) if column}
        if any(cells.values()):
            rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise Problem(422, "too_many_rows", f"{filename}: more than {MAX_ROWS} rows")
    return rows


def sheet_of_csv(filename: str) -> str:
    """The sheet a CSV file holds, from its name: `households.csv`, `东村-households.csv` …"""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    for sheet in SHEETS:
        if stem == sheet or stem.endswith(f"-{sheet}") or stem.endswith(f"_{sheet}"):
            return sheet
    raise Problem(422, "unknown_sheet", f"{filename}: name a CSV file after its sheet ({', '.join(SHEETS)})")


def read_file(filename: str, data: bytes) -> dict[str, Rows]:
    """The sheets of one uploaded file (CSV: one sheet named by the file; XLSX: sheets by name)."""
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        sheet = sheet_of_csv(filename)
        reader = csv.reader(io.StringIO(_decode(data, filename)))
        header = next(reader, [])
        return {sheet: _rows(header, reader, sheet, filename)}
    if lowered.endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken archive
            raise Problem(422, "unreadable_file", f"{filename}: not a readable XLSX workbook") from exc
        sheets: dict[str, Rows] = {}
        for worksheet in workbook.worksheets:
            name = worksheet.title.strip().lower()
            if name not in SHEETS:
                raise Problem(422, "unknown_sheet", f"{filename}: unknown sheet {worksheet.title!r}; sheets are {', '.join(SHEETS)}")
            rows = worksheet.iter_rows(values_only=True)
            sheets[name] = _rows(list(next(rows, [])), rows, name, filename)
        workbook.close()
        return sheets
    raise Problem(415, "unsupported_media_type", f"{filename}: upload .csv or .xlsx files")


def write_csv(sheet: str, rows: list[dict[str, object]], encoding: str) -> bytes:
    """One sheet as CSV (UTF-8 with a BOM so Excel reads it, or GBK)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SHEETS[sheet])
    for row in rows:
        writer.writerow([unbreakable(row.get(column)) for column in SHEETS[sheet]])
    text = buffer.getvalue()
    if encoding == "gbk":
        return text.encode("gb18030")
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def write_xlsx(sheets: dict[str, list[dict[str, object]]]) -> bytes:
    """Several sheets as one workbook; every cell is text, never a formula."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, rows in sheets.items():
        worksheet = workbook.create_sheet(sheet)
        worksheet.append(SHEETS[sheet])
        for row in rows:
            worksheet.append([unbreakable(row.get(column)) for column in SHEETS[sheet]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
