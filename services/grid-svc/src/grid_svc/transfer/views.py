"""HTTP endpoints for roster import (`/api/v1/grid/imports`) and export (`/api/v1/grid/exports`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import File, Query, UploadFile
from fastapi.responses import Response

from grid_svc.access import sees_personal_data
from grid_svc.transfer import service
from grid_svc.transfer.service import ImportRejected, ImportReport
from grid_svc.transfer.sheets import SHEETS, read_file, write_csv, write_xlsx
from shared.identity import CurrentIdentity
from shared.problems import Problem
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid", tags=["import and export"])


class ExportFormat(StrEnum):
    """File format of an export."""

    CSV = "csv"
    XLSX = "xlsx"


class CsvEncoding(StrEnum):
    """Text encoding of a CSV export."""

    UTF8 = "utf-8"
    GBK = "gbk"


Sheet = StrEnum("Sheet", {name.upper(): name for name in SHEETS})


@router.post("/imports", response_model=ImportReport, summary="Import a roster (CSV or XLSX)")
async def import_roster(
    db: DatabaseDep,
    identity: CurrentIdentity,
    files: Annotated[list[UploadFile], File(description="XLSX workbooks (sheets by name) and/or CSV files named after their sheet")],
    dry_run: Annotated[bool, Query(description="validate and count only; change nothing")] = False,
) -> ImportReport:
    """Import units (code, parent_code = the parent's full code, level, name), households, people, members,
    roles and liaisons. Every row is validated; if any row fails nothing changes and the answer is 422
    `import_rejected` with one error per row (`loc` = [sheet, row, column]). Re-importing the same file
    changes nothing: rows are matched by code (units, households) or ID number (people). CSV may be UTF-8
    or GBK.
    """
    sheets: dict = {}
    for upload in files:
        for name, rows in read_file(upload.filename or "upload", await upload.read()).items():
            sheets.setdefault(name, []).extend(rows)
    try:
        async with db.transaction() as session:
            return await service.import_sheets(session, identity=identity, sheets=sheets, dry_run=dry_run)
    except ImportRejected as rejected:
        if not rejected.errors:
            return rejected.report  # a clean dry run
        errors = [{"loc": [e.sheet, e.row, e.column or ""], "msg": e.message, "type": "row_error"} for e in rejected.errors]
        raise Problem(422, "import_rejected", f"{len(errors)} row(s) failed; nothing was changed", errors=errors, title=("导入数据有误，未做任何修改", "Import rejected; nothing was changed")) from None


@router.get("/exports", summary="Export a roster (CSV or XLSX)", response_class=Response)
async def export_roster(
    db: DatabaseDep,
    identity: CurrentIdentity,
    under: Annotated[str, Query(description="the unit whose subtree is exported")],
    format: ExportFormat = ExportFormat.XLSX,
    sheet: Annotated[Sheet | None, Query(description="the sheet (required for CSV; XLSX holds all by default)")] = None,
    encoding: CsvEncoding = CsvEncoding.UTF8,
    full_personal_data: Annotated[bool, Query(description="admins only: full ID numbers, phones, birth dates")] = False,
) -> Response:
    """The subtree's current roster in the import format. ID numbers and phones are masked unless an admin
    asks for `full_personal_data` (needed to re-import people). Cells that start with = + - @ are quoted so
    spreadsheets never run them as formulas."""
    if full_personal_data and not sees_personal_data(identity):
        raise Problem(403, "forbidden", "only admins of the scope export full personal data")
    if format == ExportFormat.CSV and sheet is None:
        raise Problem(422, "validation_failed", "a CSV export holds one sheet: give `sheet`", errors=[{"loc": ["query", "sheet"], "msg": "required for csv", "type": "missing"}])
    names = [sheet.value] if sheet is not None else list(SHEETS)
    async with db.session() as session:
        rows = await service.export_rows(session, identity=identity, under_id=under, sheets=names, full=full_personal_data)
    if format == ExportFormat.CSV:
        body = write_csv(names[0], rows[names[0]], encoding.value)
        charset = "gb18030" if encoding == CsvEncoding.GBK else "utf-8"
        media, filename = f"text/csv; charset={charset}", f"{names[0]}.csv"
    else:
        body = write_xlsx(rows)
        media, filename = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "roster.xlsx"
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"}
    return Response(body, media_type=media, headers=headers)
