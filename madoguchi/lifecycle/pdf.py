"""A resident's record as a readable PDF (Japanese font as the monthly report uses): the
disclosure to the resident, and the face sheets of the end-of-contract archive."""

from __future__ import annotations

from typing import Any

from madoguchi.reports.pdf import japanese_font

LABELS = {
    "for_whom": "相談者", "categories": "相談の分野", "problem_text": "相談内容", "problem_text_ja": "相談内容（日本語訳）",
    "age_band": "年代", "district": "地区", "household": "世帯", "public_assistance": "生活保護",
    "residence": "住まい", "contact_method": "連絡方法", "contact_time": "連絡の時間帯", "contact_detail": "連絡先",
    "name": "氏名", "share_consent": "関係機関への共有", "urgent": "緊急", "urgency_reasons": "緊急の理由",
    "recommended_programmes": "案内した事業", "accepted_programmes": "利用する事業",
}


def _v(value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, list):
        return "、".join(map(str, value))
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    return str(value)


class _Doc:
    def __init__(self, title: str) -> None:
        from fpdf import FPDF

        font = japanese_font()
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(True, margin=15)
        self.pdf.add_font("jp", "", str(font))
        self.pdf.add_page()
        self.pdf.set_font("jp", size=15)
        self.pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("jp", size=9)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("jp", size=12)
        self.pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("jp", size=9)

    def line(self, text: str) -> None:
        # the CJK font has no emoji (fpdf2 leaves them out); the JSON beside the PDF keeps every character
        self.pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    def pair(self, label: str, value: Any) -> None:
        self.line(f"{label}: {_v(value)}")

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def _case(doc: _Doc, case: dict[str, Any]) -> None:
    doc.heading(f"受付番号 {case['number']}（{case['status']}）")
    doc.pair("受付日時", case["created_at"])
    for key, value in case["face_sheet"].items():
        doc.pair(LABELS.get(key, key), value)
    for h in case["status_history"]:
        doc.line(f"・{h['at']} {h['from']} → {h['to']}" + (f"（{h['reason']}）" if h.get("reason") else ""))
    for n in case["notes"]:
        doc.line(f"・記録 {n['at']}: {n['text']}")


def record_pdf(record: dict[str, Any], *, title: str, transcript: bool = True) -> bytes:
    doc = _Doc(title)
    r = record["resident"]
    doc.pair("窓口", f"{r['channel']}（{r['profile_id']}）")
    doc.pair("連絡先 ID", r["address"])
    doc.pair("言語", r["language"])
    for case in record["cases"]:
        _case(doc, case)
    doc.heading("同意の記録")
    for k in record["consents"]:
        doc.line(f"・{k['at']} {k['kind']}: {k['decision']}（{k['channel']}、文面 {k['wording_version']}、{k['language']}）")
    if transcript:
        for i, conv in enumerate(record["conversations"], 1):
            doc.heading(f"やりとり {i}（{conv['channel']}、{conv['created_at']}）")
            for m in conv["messages"]:
                if m["text"]:
                    doc.line(f"[{m['at'][:16]}] {m['sender']}: {m['text']}")
            for f in conv.get("media", []):  # issue 16: the pictures and documents, listed
                doc.line(f"・添付 {f['at'][:16]} {f['kind']} {f['filename'] or '（名前なし）'}"
                         f"（{f['content_type']}、{f['size']}バイト、{f['status']}）")
    return doc.bytes()
