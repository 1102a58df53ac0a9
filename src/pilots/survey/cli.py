"""``pilots survey``: import satisfaction-survey exports and report the satisfaction rate."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from pilots.clikit import DATE, App, echo_import, json_option, pass_app

if TYPE_CHECKING:
    from pilots.survey.measure import SurveySummary


@click.group("survey")
def survey_group() -> None:
    """満足度調査: アンケートの回答を取り込み、満足度を集計します。"""


@survey_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--survey", "survey", help="調査名（既定: ファイル名。Formsの「(1-31)」は除きます）。"
)
@click.option("--question", help="満足度の設問の列見出し（5段階の列が複数あるときに指定）。")
@click.option(
    "--department-column", help="所属の列見出し（既定: 所属/部署/課名 などを自動で探します）。"
)
@click.option(
    "--comment-column",
    "comment_columns",
    multiple=True,
    help="自由記述として残す列見出し（複数指定可。既定: 意見・感想・コメントなどを含む列）。",
)
@click.option("--sheet", help="Excelのシート名（既定: 最初のシート）。")
@json_option
@pass_app
def import_command(
    app: App,
    file: str,
    survey: str | None,
    question: str | None,
    department_column: str | None,
    comment_columns: tuple[str, ...],
    sheet: str | None,
    as_json: bool,
) -> None:
    """満足度調査の回答（Microsoft Forms の xlsx、各種フォームの CSV）を取り込みます。

    5段階（大変満足/満足/どちらともいえない/不満/大変不満）で答えた列を満足度の設問とします。
    同じ回答（同じ回答ID、IDがなければ同じ行）をもう一度取り込んでも増えません。
    氏名・メールアドレスは保存しません。
    """
    from pilots.output import to_json
    from pilots.survey.ingest import import_survey

    with app.session() as session:
        result = import_survey(
            session,
            file,
            survey=survey,
            question=question,
            department_column=department_column,
            comment_columns=comment_columns,
            sheet=sheet,
        )
    if as_json:
        click.echo(to_json(result))
        return
    extra = [f"読めない行 {len(result.rejected)}"] if result.rejected else []
    echo_import(f"{file} → 調査「{result.survey}」", result, "件", *extra)
    click.echo(f"満足度の設問: 「{result.question}」")
    click.echo(
        f"有効回答 {result.valid}件、無回答 {result.non_responses}件、"
        f"5段階にない回答 {result.unrecognised}件"
    )
    click.echo(
        "所属の列: " + (f"「{result.department_column}」" if result.department_column else "なし")
    )
    if result.comment_columns:
        click.echo("自由記述の列: " + "、".join(f"「{c}」" for c in result.comment_columns))
    click.echo(
        "完了時刻の列: "
        + (f"「{result.completion_column}」" if result.completion_column else "なし")
    )
    from pilots.output import format_table

    if result.rejected:
        click.echo(f"\n読めないため取り込まなかった行 {len(result.rejected)}件:")
        click.echo(format_table(["行", "理由"], [(r.line, r.reason) for r in result.rejected]))
    if result.warnings:
        click.echo(
            f"\n完了時刻を読めなかった行 {len(result.warnings)}件"
            "（回答は取り込み、基準日での絞り込みでも常に数えます）:"
        )
        click.echo(
            format_table(
                ["行", "列", "値", "内容"],
                [(w.line, w.column, w.value, w.reason) for w in result.warnings],
            )
        )


@survey_group.command("summary")
@click.option("--survey", "survey", help="調査名（調査が1つだけなら省略できます）。")
@click.option(
    "--target",
    type=float,
    default=None,
    help="目標の満足度（0〜1、既定は PILOTS_SATISFACTION_TARGET の 0.7）。",
)
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="基準日（この日の終わりまでに完了した回答だけを数えます。例: 2019-09-30）。",
)
@json_option
@pass_app
def summary_command(
    app: App, survey: str | None, target: float | None, as_of: date | None, as_json: bool
) -> None:
    """満足度（大変満足＋満足の割合）、95%信頼区間、目標の達成を集計します（SPEC §5）。

    --as-of を付けると、その日までに完了した回答だけを数えます（中間報告用）。
    完了時刻のない回答は常に数えます。
    """
    from pilots.output import to_json
    from pilots.survey.measure import summarize_survey

    chosen = app.settings.get("satisfaction_target") if target is None else target
    with app.session() as session:
        summary = summarize_survey(session, survey, target=chosen, as_of=as_of)
    if as_json:
        click.echo(to_json(summary))
        return
    _print_summary(summary)


@survey_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="確認せずに削除します。")
@pass_app
def delete_command(app: App, name: str, yes: bool) -> None:
    """調査をその回答ごと削除します（取り込み直すときや、別の調査を誤って取り込んだとき）。

    NAME は調査名（pilots survey summary の「調査」）。所属は残ります。
    """
    from pilots.survey.measure import delete_survey

    if not yes:
        click.confirm(f"調査「{name}」とその回答をすべて削除します。よろしいですか", abort=True)
    with app.session() as session:
        deleted = delete_survey(session, name)
    click.echo(f"調査「{deleted.name}」を削除しました（回答 {deleted.responses}件）")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _verdict(value: bool | None) -> str:
    return "測定中" if value is None else "達成" if value else "未達"


def _print_summary(s: SurveySummary) -> None:
    from pilots.output import format_table

    click.echo(f"調査「{s.survey}」 設問「{s.question}」")
    if s.as_of is not None:
        click.echo(
            f"基準日 {s.as_of.isoformat()}: それより後に完了した{s.responses_after_as_of}件は"
            "数えていません"
        )
    click.echo(
        f"回答 {s.responses}件: 有効 {s.valid}件、無回答 {s.non_responses}件、"
        f"5段階にない回答 {s.unrecognised}件"
    )
    click.echo(
        f"満足度: {_percent(s.satisfaction_rate)}"
        f"（大変満足＋満足 {s.satisfied}件 ÷ 有効 {s.valid}件）"
    )
    if s.ci95 is not None:
        click.echo(f"95%信頼区間（Wilson）: {_percent(s.ci95[0])} 〜 {_percent(s.ci95[1])}")
    if s.target is not None:
        click.echo(
            f"目標 {s.target:.0%}: {_verdict(s.met)}"
            f"（信頼区間の下限で見ると {_verdict(s.met_with_confidence)}）"
        )
    click.echo("\n回答の分布:")
    click.echo(format_table(["回答", "件数"], list(s.distribution.items())))
    if s.by_department:
        click.echo("\n所属別:")
        click.echo(
            format_table(
                ["所属", "回答", "有効", "満足", "満足度"],
                [
                    (d.department, d.responses, d.valid, d.satisfied, _percent(d.satisfaction_rate))
                    for d in s.by_department
                ],
            )
        )
    if s.excluded:
        click.echo("\n有効回答に数えなかった行:")
        click.echo(
            format_table(
                ["行", "所属", "区分", "回答"],
                [(e.line, e.department, e.label, e.answer_raw) for e in s.excluded],
            )
        )
    if s.comments:
        click.echo("\n自由記述:")
        for c in s.comments:
            # One line each, control characters dropped: the text is untrusted and
            # could move the cursor or recolour the terminal. It is stored verbatim.
            text = "".join(ch for ch in " ".join(c.text.split()) if ch.isprintable())
            click.echo(f"- [{c.department}] {text}")
