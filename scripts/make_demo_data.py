"""Generate data/demo/: a complete, realistic FY2019 (令和元年度) data set, from a fixed seed.

    python scripts/make_demo_data.py          # rewrites data/demo/

What it writes, each in the format its source system exports:

* ``departments.csv`` — the organisation (所属コード, 所属名, 上位所属コード; CP932), 150
  sections in 12 divisions, some of which never use speech recognition;
* ``asr_baselines.xlsx`` — pre-adoption survey: hours of minutes work per hour of audio
  for the departments that measured their own (the rest use the default rate);
* ``asr_usage_2019_first_half.csv`` (CP932) and ``asr_usage_2019_second_half.xlsx`` —
  the departments' monthly usage reports: meeting date, audio minutes, correction
  minutes (blank where not reported), with a few unreadable rows as offices send them;
* ``survey_forms.xlsx`` — the satisfaction survey as Microsoft Forms exports it;
* ``rpa_catalog.xlsx`` — the RPA task catalog (業務台帳);
* ``wmc_tasks.csv`` — WinActor Manager on Cloud's task export (MS932, CRLF, 31 columns);
* ``uipath_jobs.csv`` — UiPath Orchestrator jobs with the API's field names (UTC);
  both with the trial's failures as the tools log them: error codes and messages on
  three WinActor and two UiPath terminals, one of which (WA-PC03) fails far more
  often than the others until it is fixed in November;
* ``rpa_issues.csv`` — the RPA team's issue register (課題管理表, CP932): the 例外処理
  and 端末管理 issues those failures are, with their causes and resolutions;
* ``rpa_work_survey.csv`` — the work survey ranked for next year's candidates.

The published FY2019 results (116 departments, 62 hours a month, 83.87%, about
1,800 hours and 84%) are what this organisation's data produces when pilots
computes it: the generator chooses workloads that lead there, the way a real
year's data would, and never writes a result anywhere. The RPA trial starts in
July, as the plan's schedule says (the plan ships with pilots:
src/pilots/report/demo_plan.yaml).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

SEED = 20190401
OUT = Path(__file__).resolve().parent.parent / "data" / "demo"
FY_START, FY_END = date(2019, 4, 1), date(2020, 3, 31)
RPA_START = date(2019, 7, 1)

DIVISIONS: dict[str, list[str]] = {
    "総務部": [
        "総務課",
        "人事課",
        "IT・業務改革課",
        "財政課",
        "税務課",
        "管財課",
        "法務文書課",
        "職員厚生課",
        "行政改革推進室",
        "市町村課",
        "防災危機管理課",
        "消防保安課",
        "会計課",
        "秘書課",
        "広聴課",
    ],
    "企画部": [
        "企画調整課",
        "統計課",
        "地域振興課",
        "交通政策課",
        "国際課",
        "広報課",
        "情報政策課",
        "移住定住推進室",
        "文化振興課",
        "スポーツ振興課",
        "大学連携課",
        "政策推進課",
        "デジタル推進課",
    ],
    "県民生活部": [
        "県民生活課",
        "男女共同参画課",
        "消費生活センター",
        "生活衛生課",
        "人権施策課",
        "青少年課",
        "NPO協働課",
        "交通安全対策室",
        "旅券センター",
        "県民相談室",
        "外国人支援室",
    ],
    "環境部": [
        "環境政策課",
        "循環型社会推進課",
        "自然保護課",
        "水環境課",
        "大気保全課",
        "温暖化対策室",
        "廃棄物指導課",
        "環境影響評価室",
        "環境研究センター",
        "環境保全課",
    ],
    "健康福祉部": [
        "福祉政策課",
        "健康増進課",
        "介護保険課",
        "医療政策課",
        "障害福祉課",
        "子ども家庭課",
        "薬務課",
        "感染症対策課",
        "国民健康保険課",
        "地域包括ケア推進室",
        "県央保健所",
        "県北保健所",
        "県南保健所",
        "衛生研究所",
        "こども相談センター",
        "高齢福祉課",
        "生活福祉課",
    ],
    "商工労働部": [
        "商工政策課",
        "雇用対策課",
        "産業振興課",
        "観光振興課",
        "中小企業支援課",
        "労働政策課",
        "企業立地課",
        "職業能力開発課",
        "工業技術センター",
        "産業人材課",
        "金融課",
        "商業振興課",
    ],
    "農林水産部": [
        "農政課",
        "森林整備課",
        "水産振興課",
        "畜産課",
        "農村整備課",
        "農業経営課",
        "園芸振興課",
        "林業振興課",
        "農業試験場",
        "漁港漁場課",
        "家畜保健衛生所",
        "農地調整課",
        "食の安全推進課",
        "農産物流通課",
    ],
    "土木部": [
        "道路課",
        "河川課",
        "建築住宅課",
        "都市計画課",
        "港湾課",
        "砂防課",
        "用地課",
        "技術管理課",
        "建設業課",
        "下水道課",
        "公園緑地課",
        "県央土木事務所",
        "県北土木事務所",
        "県南土木事務所",
        "営繕課",
        "道路保全課",
    ],
    "出納局": ["出納課", "物品調達課", "審査課", "会計管理課", "出納事務センター"],
    "教育委員会事務局": [
        "教育総務課",
        "学校人事課",
        "義務教育課",
        "高校教育課",
        "特別支援教育課",
        "生涯学習課",
        "文化財課",
        "保健体育課",
        "教育施設課",
        "教職員課",
        "教育研修センター",
        "学校給食課",
        "人権教育課",
        "教育情報化推進室",
    ],
    "議会事務局": ["議事課", "政務調査課", "議会総務課", "議会図書室"],
    "監査委員事務局": ["監査第一課", "監査第二課", "監査総務課", "監査第三課"],
    "人事委員会事務局": ["任用課", "給与課"],
}
ASR_USERS = 116  # departments that take up speech recognition during the year
ASR_HOURS_SAVED = 744.0  # what this year's measured jobs turn out to save (hours)


@dataclass
class AsrJob:
    department: str
    meeting_date: date
    audio_minutes: int
    correction_minutes: int | None


def departments() -> list[tuple[str, str, str]]:
    """(code, name, parent code) for every division and section."""
    rows = []
    for d, (division, sections) in enumerate(DIVISIONS.items(), start=1):
        code = f"{d:02d}0000"
        rows.append((code, division, ""))
        rows += [(f"{d:02d}{s:02d}00", name, code) for s, name in enumerate(sections, start=1)]
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def write_xlsx(path: Path, sheet: str, header: list[str], rows: list[list[object]]) -> None:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    book.save(path)


def asr_data(rng: random.Random, sections: list[str]) -> tuple[dict[str, float], list[AsrJob]]:
    """Baseline rates and the year's jobs, with correction times that sum to the year's saving."""
    others = rng.sample(sorted(set(sections) - {"IT・業務改革課"}), ASR_USERS - 1)
    users = [*others, "IT・業務改革課"]
    rates = {d: round(rng.uniform(3.0, 5.0) * 4) / 4 for d in rng.sample(users, 34)}
    jobs: list[AsrJob] = []
    for department in users:
        # most start after the July roll-out; a few piloted from April
        first = date(2019, rng.choice([4, 5, 6] + [7] * 6 + [8] * 4 + [9, 10, 11]), 1)
        day = first + timedelta(days=rng.randrange(0, 28))
        while day <= FY_END:
            meeting = day + timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
            if meeting <= FY_END:  # meetings are held on weekdays
                jobs.append(
                    AsrJob(department, meeting, rng.choice([30, 45, 60, 60, 75, 90, 120]), 0)
                )
            day += timedelta(days=rng.randrange(35, 80))
    jobs.sort(key=lambda j: (j.meeting_date, j.department))
    for job in rng.sample(jobs, len(jobs) // 9):
        job.correction_minutes = None  # not reported by the department
    measured = [j for j in jobs if j.correction_minutes is not None]
    baseline = sum(j.audio_minutes / 60 * rates.get(j.department, 4.0) for j in measured)
    correction = (baseline - ASR_HOURS_SAVED) * 60  # minutes of correction in the year
    weights = [j.audio_minutes * rng.uniform(0.7, 1.3) for j in measured]
    scale = correction / sum(weights)
    for job, weight in zip(measured, weights, strict=True):
        job.correction_minutes = round(weight * scale)
    measured[-1].correction_minutes = (measured[-1].correction_minutes or 0) + round(
        correction - sum(j.correction_minutes or 0 for j in measured)
    )
    return rates, jobs


def write_asr(out: Path, rng: random.Random, sections: list[str]) -> None:
    rates, jobs = asr_data(rng, sections)
    write_xlsx(
        out / "asr_baselines.xlsx",
        "従来作業時間",
        ["所属", "従来作業時間(時間/録音1時間)"],
        [[d, r] for d, r in sorted(rates.items())],
    )
    header = ["所属", "会議日", "録音時間(分)", "修正時間(分)"]
    first = [j for j in jobs if j.meeting_date < date(2019, 10, 1)]
    second = [j for j in jobs if j.meeting_date >= date(2019, 10, 1)]

    def era(day: date) -> str:  # departments write dates their own way
        form = rng.random()
        if form < 0.5:
            return day.strftime("%Y/%m/%d")
        if form < 0.8:
            return (
                f"R{day.year - 2018}.{day.month}.{day.day}"
                if day >= date(2019, 5, 1)
                else day.isoformat()
            )
        return day.isoformat()

    rows: list[list[object]] = [
        [
            j.department,
            era(j.meeting_date),
            j.audio_minutes,
            "" if j.correction_minutes is None else j.correction_minutes,
        ]
        for j in first
    ]
    # what arrives in real monthly reports: a typo'd date, a length nobody measured
    rows.insert(40, ["統計課", "2019/06/31", 60, 95])
    rows.insert(90, ["広報課", "2019/08/20", "不明", ""])
    write_csv(out / "asr_usage_2019_first_half.csv", header, rows, "cp932")
    write_xlsx(
        out / "asr_usage_2019_second_half.xlsx",
        "利用報告",
        header,
        [[j.department, j.meeting_date, j.audio_minutes, j.correction_minutes] for j in second],
    )


def write_survey(out: Path, rng: random.Random, sections: list[str]) -> None:
    """36 respondents: 31 valid answers of which 26 satisfied, 4 blank, 1 off the scale."""
    answers = (
        ["大変満足"] * 9
        + ["満足"] * 17
        + ["どちらともいえない"] * 3
        + ["不満"]
        + ["大変不満"]
        + [""] * 3
        + ["無回答"]
        + ["やや満足"]
    )
    rng.shuffle(answers)
    comments = {
        "大変満足": [
            "議事録作成の時間が半分以下になった。",
            "会議直後に案ができるので確認が早い。",
        ],
        "満足": ["固有名詞の誤りは残るが、用語集で減った。", "聞き直しの手間が減った。", ""],
        "どちらともいえない": ["話者が重なる場面は手で直す必要がある。"],
        "不満": ["雑音の多い会議室では精度が低い。"],
        "大変不満": ["修正に時間がかかり、従来と変わらない。"],
    }
    header = [
        "ID",
        "開始時刻",
        "完了時刻",
        "メール",
        "名前",
        "所属",
        "音声認識による議事録作成の満足度を教えてください。",
        "満足・不満の理由、改善してほしい点をお書きください。",
    ]
    rows: list[list[object]] = []
    start = datetime(2020, 2, 3, 9, 0)
    for i, answer in enumerate(answers, start=1):
        begun = start + timedelta(hours=rng.randrange(0, 24 * 10), minutes=rng.randrange(60))
        comment = rng.choice(comments.get(answer, [""]))
        rows.append(
            [
                i,
                begun,
                begun + timedelta(minutes=rng.randrange(2, 9)),
                "anonymous",
                "",
                rng.choice(sections),
                answer,
                comment,
            ]
        )
    write_xlsx(out / "survey_forms.xlsx", "Sheet1", header, rows)


@dataclass
class Task:
    task_id: str
    name: str
    department: str
    scenario: str
    vendor: str  # "wmc" or "uipath"
    manual: float  # minutes per case before RPA
    cases: int  # per run
    residual: float = 0.0  # minutes per run still done by hand
    exception: float = 20.0  # extra minutes when a run fails
    weight: float = 1.0  # how much hand work remains, relative to the others


TASKS = [
    Task("R01", "給与支払報告書の入力", "人事課", "給与支払報告書入力", "wmc", 6.0, 30, weight=0.8),
    Task("R02", "旅費精算データの登録", "総務課", "旅費精算登録", "wmc", 8.0, 12, weight=1.2),
    Task(
        "R03",
        "口座振替結果の消込",
        "税務課",
        "KozaFurikae_Keshikomi",
        "uipath",
        3.0,
        80,
        weight=0.7,
    ),
    Task("R04", "認定調査票の転記", "介護保険課", "認定調査票転記", "wmc", 12.0, 8, weight=1.3),
    Task(
        "R05",
        "道路占用許可の台帳登録",
        "道路課",
        "RoadOccupancy_Register",
        "uipath",
        10.0,
        6,
        weight=1.0,
    ),
    Task(
        "R06",
        "支出負担行為の入力",
        "会計課",
        "支出負担行為入力;支出負担行為入力_v2",
        "wmc",
        5.0,
        25,
        weight=0.9,
    ),
    Task(
        "R07",
        "健診結果データの取込",
        "健康増進課",
        "KenshinResult_Import",
        "uipath",
        4.0,
        40,
        weight=0.8,
    ),
    Task("R08", "問合せメールの振分け", "広報課", "問合せメール振分け", "wmc", 2.0, 35, weight=1.4),
]
RPA_BASELINE_HOURS = 2140.0  # the year's hand work these tasks replace
RPA_RESIDUAL_SHARE = 0.158  # the share of it still done by people


def business_days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


WMC_TERMINALS = ("WA-PC01", "WA-PC02", "WA-PC03")
UIPATH_TERMINALS = ("RPA-PC01", "RPA-PC02")
# The trial's operational issues, as the logs show them and the RPA team's register holds them.
# 端末管理: WA-PC03 ran out of memory (runs stopped or failed) until it was fixed.
PC03_FIXED = date(2019, 11, 18)
# 例外処理: the finance system answered slowly on weekday mornings (Mondays worst); the
# scenarios waited too briefly for its window until a longer wait and a retry were added.
SLOW_WINDOW_FIXED = date(2019, 9, 13)
SLOW_WINDOW_TASKS = ("R02", "R06")
# 例外処理: a screen of the bank-transfer system changed; the selector failed until updated.
SELECTOR_BROKEN, SELECTOR_FIXED = date(2019, 12, 2), date(2020, 1, 20)
# 例外処理: data files with a column missing stop 支出負担行為入力 now and then (still open).
WMC_ERRORS = {
    "slow": (
        "E2003",
        "ウィンドウ「財務会計システム」が見つかりません（ノード: ウィンドウ状態待機、待機 30秒）",
    ),
    "memory": ("E3002", "メモリが不足しているため処理を継続できません"),
    "hang": ("E9001", "WinActorからの応答がないため実行を停止しました"),
    "columns": ("E1102", "データ一覧ファイルの列数が設定と一致しません"),
    "element": ("E1001", "画面要素が見つかりません（ノード: クリック（WIN32）、行: 45）"),
}
UIPATH_ERRORS = {
    "selector": (
        "Could not find the UI element corresponding to this selector: "
        "<webctrl id='txtKozaNo' tag='INPUT' /> (Type Into 'INPUT  txtKozaNo')"
    ),
    "exit": "Job stopped with an unexpected exit code: 0xE0434352",
    "timeout": "Timeout reached. (Open Browser 'https://kouza.example.lg.jp')",
}


@dataclass
class Run:
    """One run of the trial as a vendor logs it."""

    task: Task
    start: datetime
    end: datetime
    outcome: str  # success / failure / other
    terminal: str
    status: str = ""  # as the vendor writes it
    code: str = ""
    error: str = ""
    retries: int = 0


def _failure(rng: random.Random, task: Task, terminal: str, start: datetime) -> str | None:
    """Why a run fails, if it does: the trial's known issues, then odd failures anywhere."""
    day = start.date()
    if task.vendor == "wmc":
        if terminal == "WA-PC03" and day < PC03_FIXED and rng.random() < 0.12:
            return rng.choice(["memory", "hang", "hang"])
        if (
            task.task_id in SLOW_WINDOW_TASKS
            and start.hour == 9
            and rng.random()
            < (0.4 if day.weekday() == 0 else 0.2) * (1 if day < SLOW_WINDOW_FIXED else 0.1)
        ):
            return "slow"
        if task.task_id == "R06" and rng.random() < 0.025:
            return "columns"
        return "element" if rng.random() < 0.012 else None
    if task.task_id == "R03" and SELECTOR_BROKEN <= day < SELECTOR_FIXED and rng.random() < 0.3:
        return "selector"
    if rng.random() < 0.015:
        return rng.choice(["exit", "timeout"])
    return None


def rpa_runs(rng: random.Random) -> list[Run]:
    """Every run of the trial, with its terminal and, for a failure, the error as logged."""
    runs: list[Run] = []
    for task in TASKS:
        terminals = WMC_TERMINALS if task.vendor == "wmc" else UIPATH_TERMINALS
        for day in business_days(RPA_START, FY_END):
            # the finance tasks are scheduled for the morning, when their data has arrived
            hours = [9, 9, 9, 13] if task.task_id in SLOW_WINDOW_TASKS else [8, 9, 13, 17]
            start = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=rng.choice(hours), minutes=rng.randrange(60)
            )
            terminal = rng.choice(terminals)
            seconds = task.cases * rng.uniform(20, 40)
            end = start + timedelta(seconds=seconds)
            cause = _failure(rng, task, terminal, start)
            if cause is None:
                outcome = "other" if rng.random() < 0.02 else "success"
                runs.append(Run(task, start, end, outcome, terminal))
                continue
            end = start + timedelta(seconds=seconds * rng.uniform(0.05, 0.6))
            runs.append(_failed(rng, task, start, end, terminal, cause))
            if cause == "slow" and day >= SLOW_WINDOW_FIXED:
                # the fix retries once, ten minutes later: it mostly gets through
                again = start + timedelta(minutes=10)
                if rng.random() < 0.8:
                    runs.append(
                        Run(task, again, again + timedelta(seconds=seconds), "success", terminal)
                    )
                else:
                    retry = _failed(
                        rng, task, again, again + timedelta(seconds=40), terminal, cause
                    )
                    retry.retries = 1
                    runs.append(retry)
    return runs


def _failed(
    rng: random.Random, task: Task, start: datetime, end: datetime, terminal: str, cause: str
) -> Run:
    run = Run(task, start, end, "failure", terminal)
    if task.vendor == "wmc":
        run.code, run.error = WMC_ERRORS[cause]
        run.status = "HALT" if cause == "hang" else "ERROR"
    else:
        run.error = UIPATH_ERRORS[cause]
    return run


def calibrate(runs: list[Run]) -> None:
    """Choose cases per run and the residual hand work so the year comes out as it did."""
    counted = {t.task_id: 0 for t in TASKS}
    failures = {t.task_id: 0 for t in TASKS}
    for run in runs:
        if run.outcome != "other":
            counted[run.task.task_id] += 1
            failures[run.task.task_id] += run.outcome == "failure"
    raw = sum(counted[t.task_id] * t.cases * t.manual for t in TASKS) / 60
    for t in TASKS:
        t.cases = max(1, round(t.cases * RPA_BASELINE_HOURS / raw))
    baseline = sum(counted[t.task_id] * t.cases * t.manual for t in TASKS) / 60
    redo = sum(failures[t.task_id] * (t.exception + t.cases * t.manual) for t in TASKS) / 60
    residual_minutes = (baseline * RPA_RESIDUAL_SHARE - redo) * 60
    weights = {t.task_id: counted[t.task_id] * t.cases * t.manual * t.weight for t in TASKS}
    scale = residual_minutes / sum(weights.values())
    for t in TASKS:
        t.residual = round(t.cases * t.manual * t.weight * scale * 2) / 2


def write_rpa(out: Path, rng: random.Random) -> None:
    runs = rpa_runs(rng)
    calibrate(runs)
    write_xlsx(
        out / "rpa_catalog.xlsx",
        "業務台帳",
        [
            "業務ID",
            "業務名",
            "所属",
            "シナリオ名",
            "手作業時間(分/件)",
            "件数(件/回)",
            "残作業時間(分/回)",
            "例外対応時間(分/回)",
        ],
        [
            [
                t.task_id,
                t.name,
                t.department,
                t.scenario,
                t.manual,
                t.cases,
                t.residual,
                t.exception,
            ]
            for t in TASKS
        ],
    )
    wmc_rows: list[list[object]] = []
    ui_rows: list[list[object]] = []
    task_no = 5000
    for run in sorted(runs, key=lambda r: r.start):
        task = run.task
        scenario = task.scenario.split(";")[rng.randrange(len(task.scenario.split(";")))]
        if task.vendor == "wmc":
            task_no += 1
            status = run.status or {"success": "FINISH", "other": "CANCEL"}[run.outcome]
            wmc_rows.append(_wmc_row(task_no, task, scenario, status, run))
        else:
            state = {"success": "Successful", "failure": "Faulted", "other": "Stopped"}[run.outcome]
            utc = timedelta(hours=9)
            ui_rows.append(
                [
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    scenario,
                    state,
                    (run.start - utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    (run.end - utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    run.terminal,
                    "Unattended",
                    run.error,
                ]
            )
    # a scenario being tried out that no task in the catalog owns yet
    for i in range(14):
        task_no += 1
        start = datetime(2019, 11, 5, 10) + timedelta(days=i)
        trial = Run(TASKS[0], start, start + timedelta(minutes=3), "success", "WA-PC01")
        wmc_rows.append(_wmc_row(task_no, None, "テスト用_帳票出力", "FINISH", trial))
    # rows an export can carry: a run stuck with an impossible time stamp
    wmc_rows[200][15] = "2019/11/31 09:12:00"
    write_csv(out / "wmc_tasks.csv", _wmc_header(), wmc_rows, "cp932")
    write_csv(
        out / "uipath_jobs.csv",
        ["Key", "ReleaseName", "State", "StartTime", "EndTime", "HostMachineName", "Type", "Info"],
        ui_rows,
        "utf-8-sig",
    )
    write_register(out)
    survey = [
        ["C01", "住民票写し交付申請の受付入力", "県民生活課", 4800, 6, "はい", "はい", "はい"],
        ["C02", "補助金実績報告の集計", "産業振興課", 1200, 20, "はい", "はい", "はい"],
        ["C03", "公用車運行記録の集計", "管財課", 2400, 5, "はい", "はい", "はい"],
        ["C04", "職員研修の申込受付", "人事課", 900, 4, "はい", "はい", "はい"],
        ["C05", "苦情・要望の内容確認", "県民相談室", 1500, 25, "いいえ", "はい", "はい"],
        ["C06", "現地調査結果の入力", "森林整備課", 600, 30, "はい", "いいえ", "はい"],
        ["C07", "入札参加資格の審査", "建設業課", 1100, 40, "いいえ", "はい", "いいえ"],
        ["C08", "統計調査票の検票", "統計課", 3000, 3, "はい", "はい", ""],
        ["C09", "議会答弁資料の作成", "議事課", 300, 120, "いいえ", "はい", "いいえ"],
    ]
    write_csv(
        out / "rpa_work_survey.csv",
        [
            "業務ID",
            "業務名",
            "所属",
            "年間件数",
            "1件あたり時間(分)",
            "ルール化",
            "電子データ",
            "手順が安定",
        ],
        survey,
        "cp932",
    )


def write_register(out: Path) -> None:
    """The RPA team's issue register (課題管理表) as they keep it in Excel, saved as CSV."""
    header = ["課題", "原因", "対応策", "担当", "状態", "発見日", "解決日"]
    header += ["業務ID", "シナリオ名", "エラーコード", "端末"]
    slow_code = WMC_ERRORS["slow"][0]
    rows: list[list[object]] = [
        [
            "【例外処理】朝9時台に財務会計システムの画面待ちでエラー停止する",
            "月曜など混み合う時間帯に財務会計システムの画面表示が遅れ、待機時間（30秒）を超える",
            "ウィンドウ待機を120秒に延ばし、エラー時は10分後に1回自動で再実行する設定を追加",
            "IT・業務改革課 RPA推進担当",
            "解決",
            "2019/08/05",
            SLOW_WINDOW_FIXED.strftime("%Y/%m/%d"),
            "",
            "",
            slow_code,
            "",
        ],
        [
            "【端末管理】WA-PC03 で実行が途中で止まる・メモリ不足で失敗する",
            "WA-PC03 のメモリが4GBと少なく、更新プログラムも未適用だった",
            "メモリを16GBに増設し更新プログラムを適用。全端末を毎朝再起動する運用に変更",
            "IT・業務改革課 端末担当",
            "解決",
            "2019/09/10",
            PC03_FIXED.strftime("%Y/%m/%d"),
            "",
            "",
            "",
            "WA-PC03",
        ],
        [
            "【例外処理】口座振替結果照会の画面改修後、入力欄が見つからず失敗する",
            "口座振替システムの改修（12月）で入力欄のセレクタが変わった",
            "セレクタを改修後の画面に合わせて修正し、画面改修の予定を事前に共有してもらう",
            "税務課・RPA推進担当",
            "解決",
            "2019/12/05",
            SELECTOR_FIXED.strftime("%Y/%m/%d"),
            "R03",
            "",
            UIPATH_ERRORS["selector"],
            "",
        ],
        [
            "【例外処理】データ一覧ファイルの列不足で支出負担行為入力が止まる",
            "所属から届く入力ファイルの様式が統一されていない",
            "入力ファイルの様式を統一し、取込前に列数を確認する処理を追加する（調整中）",
            "会計課",
            "対応中",
            "2019/12/10",
            "",
            "R06",
            "",
            WMC_ERRORS["columns"][0],
            "",
        ],
        [
            "【例外処理】失敗時の手作業での処理手順が所属ごとに異なる",
            "失敗した実行の件数を誰がどう処理し直すかが決まっていなかった",
            "失敗時の対応手順書を作成し、所管課とRPA推進担当の役割を定めた",
            "IT・業務改革課 RPA推進担当",
            "解決",
            "2019/07/22",
            "2019/08/30",
            "",
            "",
            "",
            "",
        ],
    ]
    write_csv(out / "rpa_issues.csv", header, rows, "cp932")


def _wmc_header() -> list[str]:
    from pilots.rpa.formats.wmc import HEADER

    return list(HEADER)


def _wmc_row(no: int, task: Task | None, scenario: str, status: str, run: Run) -> list[object]:
    fmt = "%Y/%m/%d %H:%M:%S"
    start, end = run.start, run.end
    seconds = int((end - start).total_seconds())
    row: list[object] = [""] * 31
    row[0], row[1], row[2], row[3], row[4] = (
        no,
        f"{scenario}_{start:%m%d}" + (f"_retry{run.retries}" if run.retries else ""),
        100 + (TASKS.index(task) if task else 99),
        scenario,
        status,
    )
    row[5] = "確認済み" if status != "FINISH" else ""
    row[14], row[15], row[16], row[17] = (
        start.strftime(fmt),
        start.strftime(fmt),
        end.strftime(fmt),
        end.strftime(fmt),
    )
    row[18] = seconds
    terminal_no = int(run.terminal[-2:])
    row[19], row[20], row[21], row[22] = terminal_no, run.terminal, terminal_no, run.terminal
    row[23], row[24] = 10, "平日定時実行"
    row[25] = start.strftime(fmt)
    row[26] = run.error
    row[27] = run.code
    row[28] = "rpa-admin"
    row[29] = run.retries
    return row


def main(argv: list[str] | None = None) -> None:
    """Write the demo data set (into data/demo/, or the folder given with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write (default data/demo)")
    out = parser.parse_args(argv).out
    rng = random.Random(SEED)
    out.mkdir(parents=True, exist_ok=True)
    org = departments()
    write_csv(
        out / "departments.csv",
        ["所属コード", "所属名", "上位所属コード"],
        [list(r) for r in org],
        "cp932",
    )
    sections = [name for _code, name, parent in org if parent]
    write_asr(out, rng, sections)
    write_survey(out, rng, sections)
    write_rpa(out, rng)


if __name__ == "__main__":
    main()
