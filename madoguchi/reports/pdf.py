"""The PDF people read: a cover summary, charts (volumes by month and by hour, categories,
languages, waiting times) and every section as a table. Japanese needs a CJK font; without one
the renderer stops with a message that says which package to install."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from madoguchi.reports.build import Report

# fpdf2 logs the characters the font lacks; with --comments they are residents' own words,
# which never go to a log (handoff/casework_pdf.py does the same for the face sheet).
logging.getLogger("fpdf.output").addFilter(lambda r: "missing the following glyphs" not in str(r.msg))

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
)


class FontMissing(RuntimeError):
    pass


def japanese_font() -> Path:
    """MADOGUCHI_REPORT_FONT, else the Debian/Ubuntu Noto CJK font."""
    for candidate in (os.environ.get("MADOGUCHI_REPORT_FONT"), *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("no Japanese font for the PDF report: install Debian's fonts-noto-cjk "
                      "(apt-get install fonts-noto-cjk) or set MADOGUCHI_REPORT_FONT to a .ttf/.otf/.ttc file")


def _charts(report: Report, font: Path) -> list[bytes]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font_manager.fontManager.addfont(str(font))
    family = font_manager.FontProperties(fname=str(font)).get_name()
    plt.rcParams.update({"font.family": family, "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    t = report.threshold

    def bars(ax, labels: list[str], values: list[int], horizontal: bool = False) -> None:  # type: ignore[no-untyped-def]
        # A count under the threshold is drawn as a hatched bar at the threshold, labelled "<t".
        shown = [v if v == 0 or v >= t else t for v in values]
        colours = ["#3b6ea8" if v == 0 or v >= t else "#c9d4e3" for v in values]
        draw = ax.barh if horizontal else ax.bar
        rects = draw(labels, shown, color=colours)
        for rect, v in zip(rects, values, strict=True):
            if 0 < v < t:
                rect.set_hatch("//")
        from matplotlib.ticker import MaxNLocator

        axis = ax.xaxis if horizontal else ax.yaxis
        axis.set_major_locator(MaxNLocator(integer=True))
        (ax.set_xlim if horizontal else ax.set_ylim)(0, max([t, *shown]) * 1.15)
        ax.bar_label(rects, labels=[str(report.cell(v)) if v else "" for v in values], fontsize=7, padding=2)

    pngs: list[bytes] = []

    def save(fig) -> None:  # type: ignore[no-untyped-def]
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=150)
        plt.close(fig)
        pngs.append(buf.getvalue())

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [1, 1.6]})
    bars(a, [f"{int(k[5:])}月" for k in report.volumes_by_month], list(report.volumes_by_month.values()))
    a.set_title(f"月別の新規相談（{report.month.fiscal_year}年度）")
    bars(b, [str(h) for h in range(24)], report.by_hour)
    b.set_title(f"時間帯別の新規相談（{report.month_label}・日本時間）")
    b.set_xlabel("時")
    save(fig)

    sections = {s.key: s for s in report.sections}
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    cats = [r for r in sections["category"].rows]
    bars(a, [r.label for r in cats][::-1], [r.month or 0 for r in cats][::-1], horizontal=True)
    a.set_title("主な相談内容（当月）")
    langs = [r for r in sections["language"].rows if (r.ytd or 0) > 0] or sections["language"].rows[:1]
    bars(b, [r.label for r in langs][::-1], [r.month or 0 for r in langs][::-1], horizontal=True)
    b.set_title("言語別（当月）")
    save(fig)

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 2.8), gridspec_kw={"width_ratios": [1.4, 1]})
    waits = report.month_figures.wait_buckets()
    bars(a, list(waits), list(waits.values()))
    a.set_title("引き継ぎ依頼から対応開始までの待ち時間（当月）")
    months = [f"{int(m[5:])}月" for m, _, _ in report.survey_trend]
    bars(b, months, [n for _, n, _ in report.survey_trend])
    b.set_title("アンケート回答数の推移（年度）")
    save(fig)
    return pngs


def render_pdf(report: Report) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    font = japanese_font()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("jp", "", str(font))
    bold = font.with_name(font.name.replace("Regular", "Bold"))
    pdf.add_font("jp", "B", str(bold if bold.is_file() else font))  # table headings are bold
    pdf.set_title(f"月次報告 {report.month}")
    pdf.set_author(report.centre)
    pdf.add_page()
    pdf.set_font("jp", size=16)
    pdf.cell(0, 10, f"{report.municipality} 月次報告 {report.month_label}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("jp", size=9)
    pdf.multi_cell(0, 5, f"{report.centre}\n対象期間：{report.month_label}1日〜末日（日本時間）。累計は{report.ytd_label}。\n"
                         f"個人が特定されないよう、{report.threshold}件未満の数は「<{report.threshold}」と表示します（0は0）。"
                         "個人情報は含みません。", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    for png in _charts(report, font):
        pdf.image(io.BytesIO(png), w=pdf.epw)
        pdf.ln(1)
    for s in report.sections:
        _section(pdf, report, s)
    if report.comments is not None:
        pdf.add_page()
        pdf.set_font("jp", size=11)
        pdf.cell(0, 8, "アンケートの自由記述（主任相談支援員の求めにより掲載）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("jp", size=9)
        for c in report.comments:
            pdf.multi_cell(0, 5, f"・{c}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _section(pdf, report: Report, s) -> None:  # type: ignore[no-untyped-def]
    from fpdf.enums import XPos, YPos

    needed = 8 + 5.5 * (len(s.rows) + 1)
    if pdf.get_y() + min(needed, 60) > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_font("jp", size=11)
    pdf.cell(0, 8, s.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("jp", size=8.5)
    if s.rows:
        with pdf.table(col_widths=(60, 18, 22), text_align=("LEFT", "RIGHT", "RIGHT"), line_height=5.2,
                       first_row_as_headings=True) as table:
            head = table.row()
            for text in ("項目", report.month_label, f"{report.month.fiscal_year}年度累計"):
                head.cell(text)
            for r in s.rows:
                row = table.row()
                row.cell(r.label)
                for v in (r.month, r.ytd):
                    shown = report.cell(v, r.unit)
                    row.cell(f"{shown}{r.unit if r.unit == '分' and isinstance(shown, int | float) else ''}")
    if s.note:
        pdf.multi_cell(0, 4.5, s.note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
