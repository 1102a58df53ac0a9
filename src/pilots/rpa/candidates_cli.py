"""``pilots rpa candidates``: next year's candidate tasks, ranked from a work survey and chosen.

The command joins the ``pilots rpa`` group in :mod:`pilots.rpa.cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pilots.clikit import DATE, App, json_option, pass_app
from pilots.rpa.text_cli import cases_text, hours_text, rate_option, who

if TYPE_CHECKING:
    from datetime import date

    from pilots.rpa.candidates import CandidateResult
    from pilots.rpa.selection import CandidateSelection


@click.command("candidates")
@click.argument("items", nargs=-1, metavar="[FILE | --select ID...]")
@click.option(
    "--select",
    "select",
    is_flag=True,
    help="後に続く業務ID（業務台帳の業務ID、業務量調査の業務IDか業務名）を来年度の候補として記録します。",
)
@click.option(
    "--fy", "fiscal_year", type=int, help="選定する年度（既定は今年度。候補は翌年度の業務）。"
)
@click.option(
    "--date", "chosen_on", type=DATE, help="選定日（既定は今日、年度が終わっていれば年度末）。"
)
@click.option("--by", "by", help="選定した人（既定はログイン名）。")
@click.option(
    "--rate",
    type=float,
    default=None,
    help="自動化で削減できる割合の見込み（既定は PILOTS_RPA_TARGET_RATE、0.80）。",
)
@click.option("--top", type=click.IntRange(min=1), default=None, help="上位N件だけを表示します。")
@json_option
@pass_app
def candidates_command(
    app: App,
    items: tuple[str, ...],
    select: bool,
    fiscal_year: int | None,
    chosen_on: date | None,
    by: str | None,
    rate: float | None,
    top: int | None,
    as_json: bool,
) -> None:
    """来年度にRPAを適用する候補業務を、業務量調査から選び（FILE）、選定を記録します（--select）。

    pilots rpa candidates 業務量調査.csv: 見込み削減時間の順に並べます。列: 業務名, 所属,
    年間件数, 1件あたり時間(分), 適性の質問（ルール化, 電子データ, 手順が安定 など、
    はい／いいえ）、任意で業務ID。「いいえ」がある業務と適用済みの業務は理由とともに除きます。
    調査の業務は記録され、--select で選べます。

    pilots rpa candidates --select C01 C02 C03 [--fy 2019]: 選んだ業務を記録します（その年度の記録を
    置き換えます）。引数なしでは、その年度に記録した業務を表示します。
    """
    from pilots.calendar import fiscal_year_of, today
    from pilots.output import to_json
    from pilots.rpa.candidates import rank_candidates
    from pilots.rpa.selection import chosen_candidates, decision_day, select_candidates

    year = fiscal_year if fiscal_year is not None else fiscal_year_of(today())
    if not select and len(items) == 1:
        expected = rate_option(app, rate, "--rate")
        with app.session() as session:
            ranked = rank_candidates(items[0], rate=expected, session=session, top=top, keep=True)
        click.echo(to_json(ranked) if as_json else _candidates_text(items[0], ranked))
        return
    if not select and items:
        raise click.UsageError("業務量調査のファイルは1つだけ渡してください（選定は --select）")
    with app.session() as session:
        if select:
            chosen = select_candidates(
                session,
                year,
                items,
                chosen_on=chosen_on or decision_day(year, today()),
                chosen_by=who(by),
            )
        else:
            chosen = chosen_candidates(session, year)
    click.echo(to_json(chosen) if as_json else _selection_text(chosen))


def _selection_text(s: CandidateSelection) -> str:
    from pilots.calendar import format_fiscal_year
    from pilots.output import format_table

    head = (
        f"{format_fiscal_year(s.fiscal_year)}に選定した{format_fiscal_year(s.for_year)}の"
        f"RPA適用候補: {s.text}"
    )
    if not s.tasks:
        return head + "（pilots rpa candidates --select 業務ID … で記録します）"
    table = format_table(
        ["業務ID", "業務名", "所属", "出どころ", "見込み削減(時間/年)", "選定日", "選定者"],
        [
            (
                t.task_id,
                t.task_name,
                t.department,
                t.source,
                "" if t.expected_hours is None else hours_text(t.expected_hours),
                t.chosen_on.isoformat(),
                t.chosen_by,
            )
            for t in s.tasks
        ],
    )
    return f"{head}\n{table}"


def _candidates_text(file: str, result: CandidateResult) -> str:
    from pilots.output import format_table

    lines = [
        f"{file}: 候補 {len(result.candidates)}業務（{result.departments}所属）、"
        f"見込み削減 {hours_text(result.expected_hours_reduced)} 時間/年、"
        f"除外 {len(result.excluded)}業務"
    ]
    if result.candidates:
        lines.append(
            format_table(
                [
                    "順位",
                    "業務ID",
                    "業務名",
                    "所属",
                    "年間件数",
                    "分/件",
                    "年間(時間)",
                    "見込み削減(時間)",
                    "未回答",
                ],
                [
                    (
                        c.rank,
                        c.task_id,
                        c.task,
                        c.department,
                        cases_text(c.annual_cases),
                        f"{c.minutes_per_case:g}",
                        hours_text(c.annual_hours),
                        hours_text(c.expected_hours_reduced),
                        "、".join(c.unanswered),
                    )
                    for c in result.candidates
                ],
            )
        )
    if result.excluded:
        lines.append("\n除外した業務:")
        lines.append(
            format_table(
                ["業務ID", "業務名", "所属", "年間(時間)", "理由"],
                [
                    (
                        e.task_id,
                        e.task,
                        e.department,
                        hours_text(e.annual_hours),
                        "、".join(e.reasons),
                    )
                    for e in result.excluded
                ],
            )
        )
    lines.append("\n規則: " + result.rule)
    lines.append("来年度の候補として記録するには: pilots rpa candidates --select 業務ID …")
    return "\n".join(lines)
