"""A month's notice as an XLSX workbook: the ranked notice, and every entry behind it."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from points_svc.notices.models import NoticeDetail
from shared.local_time import SHANGHAI, as_utc

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def notice_workbook(detail: NoticeDetail) -> bytes:
    """Two sheets: 公示 (rank, name, points, summary) and 明细 (one row per entry)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "公示"
    deadline = as_utc(detail.objection_deadline).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    sheet.append([f"{detail.branch_name} 党员积分公示 {detail.period}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"公示期截止: {deadline}（北京时间）", f"状态: {'已结束' if detail.status == 'closed' else '公示中'}"])
    sheet.append([])
    sheet.append(["排名", "姓名", "积分", "明细"])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for line in detail.lines:
        points = line.final_points if line.final_points is not None else line.points
        summary = "；".join(f"{e.rule_name} {e.points:+d}" for e in line.entries)
        sheet.append([line.rank, line.name, points, summary])
    for column, width in zip("ABCD", (8, 14, 10, 80), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=5, min_col=4, max_col=4):
        row[0].alignment = Alignment(wrap_text=True)

    entries = book.create_sheet("明细")
    entries.append(["姓名", "日期", "项目", "类别", "积分", "事由", "冲正条目"])
    for cell in entries[1]:
        cell.font = Font(bold=True)
    for line in detail.lines:
        for e in line.entries:
            entries.append([line.name, e.occurred_on, e.rule_name, e.category, e.points, e.description, e.reverses_entry_id or ""])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
