"""The report as a document: sections of rows, each with the month's and the fiscal year's
count, every count under the threshold shown as "<N" (zero stays 0) so that nobody can be
singled out. Exact figures never leave this module except through `raw`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.reporting import figures as F
from casecore.reporting.models import SurveyAnswer
from casecore.reporting.periods import JST, Month
from casecore.types import utcnow
from dialogs.profile import Profile
from i18n.catalog import catalog
from madoguchi.reports import labels as L

CATEGORIES = ("money", "debt", "job", "housing", "homeless", "food", "health", "family", "children",
              "single_parent", "isolation", "welfare", "other")
AGE_BANDS = ("under_20", "20s", "30s", "40s", "50s", "60s", "70_plus", "unknown")
FOR_WHOM = ("self", "relative", "supporter", "unknown")
SURVEY_QUESTIONS = {"helped": "相談して役に立ったか", "easy": "使いやすかったか", "again": "また使いたいか"}
NOT_RECORDED = "まだ記録されていません（記録機能の追加後に集計します）"


@dataclass
class Row:
    label: str
    month: int | None
    ytd: int | None
    unit: str = "件"  # 件 (a count, suppressed) or 分 (minutes, shown when enough cases stand behind it)


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    note: str | None = None


@dataclass
class Report:
    profile_id: str
    municipality: str
    centre: str
    month: Month
    threshold: int
    generated_at: datetime
    sections: list[Section]
    volumes_by_month: dict[str, int]  # fiscal year so far, for the chart
    by_hour: list[int]  # the month, JST hour 0–23
    month_figures: F.Figures
    ytd_figures: F.Figures
    survey_trend: list[tuple[str, int, int]]  # (month, answers, "helped: yes")
    comments: list[str] | None = None  # only when a lead asks for them

    # -- suppression -------------------------------------------------------------------------
    def cell(self, value: int | None, unit: str = "件", n: int | None = None) -> int | float | str:
        """What a reader sees. A count under the threshold is "<N"; a time is shown only when at
        least threshold cases stand behind it."""
        if value is None:
            return "—"
        if unit == "件":
            return value if value == 0 or value >= self.threshold else f"<{self.threshold}"
        return value

    def suppressed_series(self, values: Iterable[int]) -> list[int | str]:
        return [self.cell(v) for v in values]

    @property
    def ytd_label(self) -> str:
        return f"{self.month.fiscal_year}年度累計（{self.month.fiscal_start}〜{self.month}）"

    @property
    def month_label(self) -> str:
        return f"{self.month.year}年{self.month.month}月"

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile_id, "municipality": self.municipality, "centre": self.centre,
            "month": str(self.month), "timezone": "Asia/Tokyo",
            "period": {"start": self.month.start.astimezone(JST).isoformat(), "end": self.month.end.astimezone(JST).isoformat()},
            "year_to_date": {"fiscal_year": self.month.fiscal_year, "from": str(self.month.fiscal_start), "to": str(self.month),
                             "note": "年度（4月始まり）の累計"},
            "threshold": self.threshold,
            "suppression": f"{self.threshold}件未満は「<{self.threshold}」と表示（0は0）",
            "generated_at": self.generated_at.astimezone(JST).isoformat(timespec="seconds"),
            "sections": [{
                "key": s.key, "title": s.title, "note": s.note,
                "rows": [{"label": r.label, "unit": r.unit, "month": self.cell(r.month, r.unit), "ytd": self.cell(r.ytd, r.unit)}
                         for r in s.rows],
            } for s in self.sections],
            "volumes_by_month": dict(zip(self.volumes_by_month, self.suppressed_series(self.volumes_by_month.values()), strict=True)),
            "by_hour": self.suppressed_series(self.by_hour),
            "survey_trend": [{"month": m, "answers": self.cell(n), "helped_yes": self.cell(y)} for m, n, y in self.survey_trend],
            **({"comments": self.comments} if self.comments is not None else {}),
        }


def _rows(keys: Iterable[str], month: Counter[str], ytd: Counter[str], label: Any) -> list[Row]:
    return [Row(label(k), month.get(k, 0), ytd.get(k, 0)) for k in keys]


def _present(*counters: Counter[str], order: Iterable[str] = ()) -> list[str]:
    """Keys to show: the fixed order first, then anything else that occurred."""
    seen = list(dict.fromkeys(order))
    for c in counters:
        seen += [k for k in sorted(c) if k not in seen]
    return seen


def _minutes(title: str, m: dict[str, Any], y: dict[str, Any], key: str, threshold: int) -> Row:
    def show(stats: dict[str, Any]) -> int | None:
        return None if stats["n"] < threshold or stats[key] is None else stats[key]
    return Row(title, show(m), show(y), unit="分")


def _triage_label(code: str) -> str:
    return "振り分け未記録" if code == "unknown" else catalog("ja", "casework").text(f"triage.{code}")


def _sections(profile: Profile, m: F.Figures, y: F.Figures, threshold: int) -> list[Section]:
    out = [Section("summary", "概要", [
        Row("新規相談（住民が最初のメッセージを送った会話）", m.consultations, y.consultations),
        Row("うち利用申込みに至らなかったもの", m.declined_or_left, y.declined_or_left),
        Row("新規ケース（利用申込みあり）", m.cases, y.cases),
        Row("緊急の会話", m.urgent, y.urgent),
        Row("要確認の会話", m.look, y.look),
        Row("相談員への引き継ぎ依頼", m.handoffs, y.handoffs),
    ], note="ウェブチャットの画面を開いただけ・友だち追加だけのものは数えません。")]
    out.append(Section("channel", "経路別（新規相談）",
                       _rows(_present(m.by_channel, y.by_channel, order=L.CHANNELS), m.by_channel, y.by_channel,
                             lambda k: L.CHANNELS.get(k, k))))
    out.append(Section("language", "言語別（新規相談）",
                       _rows(_present(m.by_language, y.by_language, order=["ja"]), m.by_language, y.by_language,
                             lambda k: L.LANGUAGES.get(k, k))))
    out.append(Section("age_band", "年代別（新規ケース）", _rows(AGE_BANDS, m.by_age_band, y.by_age_band, L.choice)))
    out.append(Section("district", "地区別（新規ケース）",
                       _rows(_present(m.by_district, y.by_district, order=[*profile.districts, "unknown"]),
                             m.by_district, y.by_district, lambda k: L.UNKNOWN if k == "unknown" else k)))
    out.append(Section("for_whom", "相談者別（どなたについての相談か）", _rows(FOR_WHOM, m.by_for_whom, y.by_for_whom, L.choice)))
    out.append(Section("category", "主な相談内容（複数選択）", _rows(CATEGORIES, m.by_category, y.by_category, L.choice),
                       note="1件で複数の内容を選べるため、合計は件数と一致しません。"))
    kinds = list(L.KINDS)
    out.append(Section("urgent_kind", "緊急の内容別", _rows(kinds, m.urgent_by_kind, y.urgent_by_kind, L.KINDS.get),
                       note="1つの会話に複数の内容があるときはそれぞれに数えます。"))
    out.append(Section("look_kind", "要確認の内容別", _rows(kinds, m.look_by_kind, y.look_by_kind, L.KINDS.get)))
    if m.triage is None or y.triage is None:
        out.append(Section("triage", "振り分けの結果", note=NOT_RECORDED))
    else:
        out.append(Section("triage", "振り分けの結果", _rows(_present(m.triage, y.triage), m.triage, y.triage, _triage_label)))
    if m.referrals is None or y.referrals is None:
        out.append(Section("referrals", "他機関へのつなぎ（機関別）", note=NOT_RECORDED))
    else:
        out.append(Section("referrals", "他機関へのつなぎ（機関別）", _rows(_present(m.referrals, y.referrals), m.referrals, y.referrals,
                                                                   lambda k: a.name if (a := profile.agency(k)) else k)))
    programme_ids = [p.id for p in profile.programmes]
    out.append(Section("programmes", "利用した事業（相談員が決定したもの）",
                       _rows(_present(m.programmes_used, y.programmes_used, order=programme_ids), m.programmes_used,
                             y.programmes_used, profile.programme_name),
                       note="おすすめとして表示したものではなく、ケースで利用が決まったものを数えます。"))
    removal = Section("removals", "強制退出・警告", [
        Row("強制退出（ブロック）", m.removals, y.removals),
        *[Row(f"　うち{L.REMOVAL_REASONS.get(k, k)}", m.removals_by_reason.get(k, 0), y.removals_by_reason.get(k, 0))
          for k in _present(m.removals_by_reason, y.removals_by_reason, order=L.REMOVAL_REASONS)],
    ])
    if m.warnings is None or y.warnings is None:
        removal.note = "警告：" + NOT_RECORDED
    else:
        removal.rows.insert(0, Row("警告", m.warnings, y.warnings))
    out.append(removal)
    out.append(Section("trouble", "トラブル", [
        Row("退出者からの再アクセス（応答せず）", m.blocked_attempts, y.blocked_attempts),
        Row("送信できなかったメッセージ", m.delivery_failures, y.delivery_failures),
        *[Row(f"　うち{L.CHANNELS.get(k, k)}", m.delivery_failures_by_channel.get(k, 0), y.delivery_failures_by_channel.get(k, 0))
          for k in _present(m.delivery_failures_by_channel, y.delivery_failures_by_channel)],
    ]))
    mw, yw, mr, yr = F.wait_stats(m), F.wait_stats(y), F.response_stats(m), F.response_stats(y)
    buckets_m, buckets_y = m.wait_buckets(), y.wait_buckets()
    out.append(Section("waiting", "待ち時間と応答時間", [
        Row("引き継ぎ依頼", m.handoffs, y.handoffs),
        Row("相談員が対応を始めたもの", mw["n"], yw["n"]),  # type: ignore[arg-type]
        Row("まだ対応していないもの", m.unclaimed, y.unclaimed),
        _minutes("待ち時間 中央値", mw, yw, "median", threshold),
        _minutes("待ち時間 90%の人がこれ以内", mw, yw, "p90", threshold),
        _minutes("最初の返信まで 中央値", mr, yr, "median", threshold),
        *[Row(f"待ち時間 {k}", buckets_m[k], buckets_y[k]) for k in buckets_m],
    ], note=f"引き継ぎ依頼から相談員が対応を始めるまで。時間は{threshold}件以上あるときだけ表示します。"))
    survey = Section("survey", "利用者アンケート", [Row("回答数", m.survey_answers, y.survey_answers),
                                                 Row("自由記述あり", m.survey_comments, y.survey_comments)])
    for q, title in SURVEY_QUESTIONS.items():
        for a in ("yes", "partly", "no", "no_answer"):
            survey.rows.append(Row(f"{title}：{L.SURVEY_ANSWERS[a]}", m.survey.get(q, Counter()).get(a, 0),
                                   y.survey.get(q, Counter()).get(a, 0)))
    if not y.survey_answers:
        survey.note = "この期間の回答はありません。"
    out.append(survey)
    return out


async def build(s: AsyncSession, profile: Profile, month: Month, *, threshold: int = 5,
                include_comments: bool = False) -> Report:
    fiscal = month.fiscal_months()
    m = await F.compute(s, profile.id, month.start, month.end, [str(month)])
    y = await F.compute(s, profile.id, month.fiscal_start.start, month.end, [str(x) for x in fiscal])
    volumes = await F.monthly_volumes(s, profile.id, [(str(x), x.start, x.end) for x in fiscal])
    trend_rows = (await s.execute(select(SurveyAnswer.month, SurveyAnswer.helped).where(
        SurveyAnswer.profile_id == profile.id, SurveyAnswer.month.in_([str(x) for x in fiscal])))).all()
    trend = [(str(x), sum(1 for r in trend_rows if r.month == str(x)),
              sum(1 for r in trend_rows if r.month == str(x) and r.helped == "yes")) for x in fiscal]
    comments = None
    if include_comments:
        comments = [c for c in (await s.scalars(select(SurveyAnswer.comment).where(
            SurveyAnswer.profile_id == profile.id, SurveyAnswer.month == str(month),
            SurveyAnswer.comment.is_not(None)).order_by(SurveyAnswer.id))).all() if c]
    return Report(
        profile_id=profile.id, municipality=profile.t(profile.municipality, "ja"), centre=profile.t(profile.centre_name, "ja"),
        month=month, threshold=threshold, generated_at=utcnow(), sections=_sections(profile, m, y, threshold),
        volumes_by_month=volumes, by_hour=[m.by_hour.get(h, 0) for h in range(24)],
        month_figures=m, ytd_figures=y, survey_trend=trend, comments=comments,
    )
