"""The printable 相談受付票 (issue 13): the face sheet of one case on an A4 page, with the
recommended programmes and why, for the paper file a centre keeps. fpdf2 embeds a subset of
the Japanese font (Debian's fonts-noto-cjk, or MADOGUCHI_REPORT_FONT as for the monthly
report; handoff cannot import madoguchi, so the short search is repeated here)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from casecore.lifecycle import CASE
from casecore.models import Case
from dialogs.profile import Profile
from i18n.catalog import catalog

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
)
# fpdf2 logs the characters the font lacks; here they are the resident's own (a name, an
# emoji): personal data is never logged, so that one message is dropped.
logging.getLogger("fpdf.output").addFilter(lambda r: "missing the following glyphs" not in str(r.msg))
FIELDS = (("for_whom", "相談者"), ("age_band", "年代"), ("district", "地区"), ("household", "世帯"),
          ("public_assistance", "生活保護"), ("residence", "住まい"), ("contact_method", "連絡方法"),
          ("contact_time", "連絡の時間帯"))


def japanese_font() -> Path:
    for candidate in (os.environ.get("MADOGUCHI_REPORT_FONT"), *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("no Japanese font for the PDF: install fonts-noto-cjk or set MADOGUCHI_REPORT_FONT")


def _rows(case: Case, profile: Profile) -> list[tuple[str, str]]:
    ja, console = catalog("ja"), catalog("ja", "console")
    status = console.text(f"caseStatus.{case.status}") if case.status in CASE.states else case.status
    rows = [("受付番号", case.number), ("受付日", case.created_at.strftime("%Y-%m-%d")), ("状態", status),
            ("氏名", case.name or "(未回答)"), ("連絡先", case.contact_detail or "—")]
    rows += [(label, ja.label(v) if (v := getattr(case, key)) else "—") for key, label in FIELDS]
    rows.append(("相談内容", "、".join(console.text(f"category.{c}") for c in case.categories or []) or "—"))
    if case.urgency_reasons:
        rows.append(("緊急性", "、".join(console.text(f"urgency.{u}") for u in case.urgency_reasons)))
    rows.append(("相談の要旨", case.problem_text_ja or case.problem_text or "—"))
    if case.problem_text_ja and case.problem_text and case.problem_text_ja != case.problem_text:
        rows.append(("原文", case.problem_text))
    rows.append(("情報共有の同意", {"granted": "同意あり", "declined": "同意なし", "discuss": "相談して決める"}
                 .get(case.share_consent or "", "未確認")))
    return rows


def intake_sheet_pdf(case: Case, profile: Profile, routing: dict[str, Any], triage: dict[str, Any] | None,
                     referrals: int) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("jp", "", str(japanese_font()))
    pdf.set_title(f"相談受付票 {case.number}")
    pdf.set_author(profile.t(profile.centre_name, "ja"))
    pdf.add_page()
    pdf.set_font("jp", size=16)
    pdf.cell(0, 10, "相談受付票", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="C")
    pdf.set_font("jp", size=9)
    pdf.cell(0, 6, f"{profile.t(profile.centre_name, 'ja')}　(個人情報：取扱注意)", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT, align="R")
    with pdf.table(col_widths=(35, 145), line_height=6, first_row_as_headings=False) as table:
        for label, value in _rows(case, profile):
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(3)
    pdf.set_font("jp", size=11)
    pdf.cell(0, 8, "おすすめの支援(別紙1の対象者表による)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("jp", size=9)
    for r in routing["recommended"]:
        why = "、".join(r["because"])
        extra = f"\n　　確認：{'／'.join(r['confirm'])}" if r["confirm"] else ""
        pdf.multi_cell(0, 5, f"・{r['name']}：{why}{extra}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for r in routing["excluded"]:
        pdf.multi_cell(0, 5, f"×{r['name']}：{'、'.join(r['why_not'])}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("jp", size=11)
    pdf.cell(0, 8, "振り分け", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("jp", size=9)
    text = f"{triage['label']}（{triage['at'][:10]}）{triage['reason'] or ''}" if triage else "未記録"
    pdf.multi_cell(0, 5, f"{text}\n他機関へのつなぎ：{referrals}件", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
