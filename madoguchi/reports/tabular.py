"""CSV and XLSX: one row per figure (section, item, month, fiscal year to date), suppressed."""

from __future__ import annotations

import csv
import io

from madoguchi.reports.build import Report


def _table(report: Report) -> list[list[object]]:
    rows: list[list[object]] = [["区分", "項目", report.month_label, report.ytd_label, "単位"]]
    for s in report.sections:
        if not s.rows:
            rows.append([s.title, s.note or "", "", "", ""])
        for r in s.rows:
            rows.append([s.title, r.label.strip("　"), report.cell(r.month, r.unit), report.cell(r.ytd, r.unit), r.unit])
    for label, v in zip(report.volumes_by_month, report.suppressed_series(report.volumes_by_month.values()), strict=True):
        rows.append(["月別の新規相談", label, v, "", "件"])
    for hour, v in enumerate(report.suppressed_series(report.by_hour)):
        rows.append(["時間帯別の新規相談（当月）", f"{hour:02d}時台", v, "", "件"])
    for month, answers, helped in report.survey_trend:
        rows.append(["アンケートの推移", f"{month} 回答数", report.cell(answers), "", "件"])
        rows.append(["アンケートの推移", f"{month} 役に立った（はい）", report.cell(helped), "", "件"])
    return rows


def _head(report: Report) -> list[list[object]]:
    return [[f"{report.municipality} {report.centre} 月次報告 {report.month_label}"],
            [f"{report.threshold}件未満は「<{report.threshold}」と表示（0は0）。累計は年度（4月始まり）。時刻は日本時間。"]]


def render_csv(report: Report) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerows(_head(report))
    w.writerows(_table(report))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = str(report.month)
    for row in _head(report):
        ws.append(row)
    ws["A1"].font = Font(bold=True, size=14)
    start = ws.max_row + 1
    for row in _table(report):
        ws.append(row)
    for cell in ws[start]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDE", (28, 44, 14, 30, 6), strict=True):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
