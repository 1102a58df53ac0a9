"""Choosing the satisfaction survey each survey indicator of the report uses.

Rule: a survey named by the plan (or chosen on the report page) counts
whatever year its answers were given in, up to the as-of date; without a name
the report uses the one survey answered in the period — none, or several,
give データなし and a note naming what was found (:class:`SurveyChoice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from pilots.calendar import Period, format_date
from pilots.errors import NotFoundError
from pilots.report.plan import Indicator
from pilots.survey.measure import (
    SurveyInPeriod,
    SurveySummary,
    find_survey,
    list_surveys,
    summarize_survey,
    surveys_in_period,
)


@dataclass
class SurveyChoice:
    """The survey each survey indicator uses, and what the evaluator must be told."""

    period: Period
    choice: str | None
    summaries: dict[tuple[str, date | None], SurveySummary] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    found: list[SurveyInPeriod] | None = None

    def for_indicator(
        self, session: Session, indicator: Indicator, target: float | None
    ) -> SurveySummary | None:
        """The summary of the survey the indicator names, or the period's only survey.

        Rule: a survey named by the plan (or chosen on the report page) counts
        whatever year its answers were given in, up to the as-of date; without
        a name the report uses the one survey answered in the period — none,
        or several, give データなし and a note naming what was found.
        """
        name = indicator.survey or self.choice
        if name is not None:
            try:
                survey = find_survey(session, name).name
            except NotFoundError:
                self._note(
                    f"指標「{indicator.name}」の調査「{name}」は取り込まれていません"
                    f"（取り込み済み: {'、'.join(list_surveys(session)) or 'なし'}）。"
                )
                return None
            return self._summary(session, survey, target, start=None)
        if self.found is None:
            self.found = surveys_in_period(session, self.period.start, self.period.end)
        if len(self.found) == 1:
            return self._summary(session, self.found[0].name, target, start=self.period.start)
        if self.found:
            listed = "、".join(_survey_span(s) for s in self.found)
            self._note(
                f"満足度調査が{len(self.found)}件あります（{listed}）。指標「{indicator.name}」に"
                "使う調査を、計画の指標に survey: 調査名 と書くか、レポート画面で選んでください。"
            )
            return None
        others = list_surveys(session)
        if others:
            self._note(
                f"この期間（{format_date(self.period.start)}〜{format_date(self.period.end)}）に"
                f"回答された満足度調査はありません（取り込み済み: {'、'.join(others)}）。"
                "別の年度の調査を使うときは、計画の指標に survey: 調査名 と書いてください。"
            )
        return None

    def _summary(
        self, session: Session, name: str, target: float | None, *, start: date | None
    ) -> SurveySummary | None:
        if (name, start) not in self.summaries:
            summary = summarize_survey(
                session, name, target=target, as_of=self.period.end, start=start
            )
            if summary.responses == 0:
                self._note(f"調査「{name}」の回答はすべて基準日より後に完了しています（測定中）。")
                return None
            self.summaries[name, start] = summary
        return self.summaries[name, start]

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _survey_span(found: SurveyInPeriod) -> str:
    span = ""
    if found.first is not None and found.last is not None:
        span = f"、{format_date(found.first, 'short')}〜{format_date(found.last, 'short')}"
    return f"「{found.name}」回答{found.responses}件{span}"
