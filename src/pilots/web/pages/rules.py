"""置換ルール: the rules learned from clerks' corrections, approved or rejected by an admin.

The page lists a department's rules (all departments' for an admin without
one), brought up to date from the finished jobs first as ``pilots asr rules
list`` does (:func:`pilots.asr.rules.mine_rules`), with their counts and the
sentences they were seen in; approving one puts it into that department's
next drafts (:mod:`pilots.asr.improve`).
"""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pilots.errors import PilotsError
from pilots.text import normalize_name
from pilots.web.context import Context, form_text, read_form
from pilots.web.render import guard, render

_DECISIONS = {"approve": "approved", "reject": "rejected"}


def rules_page(request: Request) -> Response:
    ctx, refused = guard(request, "rules")
    if refused:
        return refused
    from pilots.asr.rules import list_rules, mine_rules

    assert ctx.user is not None
    settings = ctx.state.config.settings
    with ctx.state.session() as session:
        mine_rules(
            session,
            min_jobs=settings.get("asr.rules_min_jobs"),
            max_unchanged_share=settings.get("asr.rules_max_unchanged_share"),
        )
        rows = [r for r in list_rules(session) if _mine(ctx, r.department)]
    return render(
        ctx,
        "rules.html",
        rules=rows,
        min_jobs=settings.get("asr.rules_min_jobs"),
        department=ctx.user.department,
    )


def _mine(ctx: Context, department: str) -> bool:
    """An admin of a department sees and decides that department's rules only."""
    assert ctx.user is not None
    own = ctx.user.department
    return not own or normalize_name(own) == normalize_name(department)


async def rules_decide(request: Request) -> Response:
    ctx, refused = guard(request, "rules")
    if refused:
        return refused
    form = await read_form(request, ctx)
    decision = _DECISIONS.get(form_text(form, "decision", 20))
    if decision is None:
        ctx.flash("error", "承認か却下を選んでください")
    else:
        await run_in_threadpool(_decide, ctx, request.path_params["rule_id"], decision)
    return ctx.finish(RedirectResponse("/minutes/rules", status_code=303))


def _decide(ctx: Context, rule_id: int, decision: str) -> None:
    from pilots.asr.rules import STATUS_LABELS, decide_rule, list_rules

    assert ctx.user is not None
    try:
        with ctx.state.session() as session:
            found = [r for r in list_rules(session) if r.id == rule_id and _mine(ctx, r.department)]
            if not found:
                ctx.flash("error", f"ルール #{rule_id} はありません")
                return
            decide_rule(session, rule_id, decision, by=ctx.user_name, now=datetime.now())
    except PilotsError as exc:
        ctx.flash("error", str(exc))
        return
    rule = found[0]
    label = STATUS_LABELS[decision]
    ctx.flash("info", f"ルール #{rule_id}（「{rule.before}」→「{rule.after}」）を{label}しました")
