"""HTML pages of generation: the confirmation dialogs that start a job, the jobs list, a job's live dashboard,
and the forms that pause, resume, cancel a job or retry its failures.

The dialogs and the dashboard call the same service functions as the JSON API (`api.py`); live updates come
from the API's server-sent events, which make the page re-render its blocks (jinja2-fragments) from the
database, so closing the browser and coming back shows the same state.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from ..conversations import revisions, selection
from ..conversations.schemas import TIER_LABELS
from ..core.config import Settings
from ..core.deps import SessionDep, SettingsDep, UserDep, get_session
from ..core.errors import AppError
from ..core.templating import is_htmx, templates
from ..llm.factory import GenerationUnavailable, provider_from_settings
from ..models import GenerationJob, TrainingConversation
from ..prompt_templates import service as prompt_templates
from . import schemas, service
from .api import QueueDep
from .flows import plan_template_key
from .notify import email_unavailable_reason

router = APIRouter(tags=["pages"], include_in_schema=False)

# Committed before the response leaves: the browser follows a redirect to the new job at once, and must find it.
CommittedSessionDep = Annotated[Session, Depends(get_session, scope="function")]

JOB_TYPE_LABELS = {"single": "Single conversation", "batch": "Batch", "process_all": "Process all remaining"}
JOB_STATUS_LABELS = {
    "queued": "Queued",
    "in_progress": "In progress",
    "paused": "Paused",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "failed": "Failed",
}
ITEM_STATUS_LABELS = {
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Generated",
    "failed": "Failed",
    "skipped": "Skipped",
    "paused": "Paused",
    "cancelled": "Cancelled",
}
# The steps a worker records for one conversation (US-TRAIN-003), in order, with what the dashboard calls them.
GENERATION_STEPS = (
    ("preparing_prompt", "Preparing prompt"),
    ("calling_model", "Calling the model"),
    ("processing_response", "Processing response"),
    ("parsing_structure", "Parsing conversation structure"),
    ("saving_turns", "Saved turns, annotations and quality metrics"),
    ("complete", "Generation complete"),
)
ACTIVE_STATUSES = ("queued", "in_progress")
FINISHED_STATUSES = ("completed", "cancelled", "failed")
RECENT_COMPLETIONS = 10
JOBS_LISTED = 100
# Quality scores run from 1.0 to 5.0; the summary chart counts them per whole point.
QUALITY_BUCKETS = (("1–1.9", 1), ("2–2.9", 2), ("3–3.9", 3), ("4–4.9", 4), ("5", 5))
# A one-off message shown as a toast on the next page (the job's dashboard after "Confirm").
FLASH_COOKIE = "tds_flash"
FLASH_SECONDS = 60


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------


def _duration(seconds: float | Decimal | None) -> str:
    """`45 s`, `3 min 20 s`, `2 h 5 min`."""
    if seconds is None:
        return "—"
    if float(seconds) < 10:
        return f"{max(0.0, float(seconds)):.1f} s"
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _dollars(cents: Decimal | float | None) -> str:
    if cents is None:
        return "—"
    return f"${Decimal(str(cents)) / 100:,.2f}"


# --------------------------------------------------------------------------------------------------
# Confirmation dialogs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    """Whether a job can be started here, and with what; reasons are shown to the user as they are."""

    provider: str | None
    model: str | None
    unavailable: str | None
    email_unavailable: str | None

    @property
    def economy_unavailable(self) -> str | None:
        if self.provider is None or self.provider == "anthropic":
            return None
        return "Economy mode uses Anthropic's Message Batches API: set ANTHROPIC_API_KEY to use it."


def _availability(settings: Settings) -> Availability:
    email = email_unavailable_reason(settings)
    try:
        provider = provider_from_settings(settings)
    except GenerationUnavailable as exc:
        return Availability(None, None, exc.message, email)
    return Availability(provider.name, provider.model, None, email)


def _default_email(user: UserDep) -> str:
    claimed = user.claims.get("email")
    if isinstance(claimed, str):
        return claimed
    return user.id if "@" in user.id else ""


def _form_defaults(user: UserDep) -> dict[str, Any]:
    return {"economy": False, "budget_usd": "", "notify": False, "notify_email": _default_email(user)}


def _template_facts(session: Session, conversation: TrainingConversation) -> dict[str, Any]:
    """The prompt template generation will use, or why it cannot be used."""
    key = plan_template_key(conversation)
    try:
        template = prompt_templates.get_template(session=session, template_ref=key or "")
    except AppError:
        return {"key": key, "template": None, "problem": f"No prompt template '{key}': generation will fail."}
    problem = None if template.is_active else f"Template '{key}' is deactivated: activate it before generating."
    return {"key": key, "template": template, "problem": problem}


def _dialog_response(request: Request, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """The dialog for an HTMX request (loaded into the page's dialog host), a plain page otherwise; a form
    re-rendered with its errors replaces only itself inside the open dialog."""
    block = None
    if is_htmx(request):
        block = "dialog_form" if request.method == "POST" else "dialog"
    return templates.TemplateResponse(
        request, "generate_dialog.html", context, block_name=block, status_code=status_code
    )


def _dialog_context(
    session: Session,
    settings: Settings,
    *,
    kind: schemas.JobType,
    conversations: Sequence[TrainingConversation],
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    left_out: Sequence[TrainingConversation] = (),
    regenerate: bool = False,
) -> dict[str, Any]:
    availability = _availability(settings)
    estimate = service.estimate(session, conversations)
    economy = service.estimate(session, conversations, economy=True)
    context: dict[str, Any] = {
        "kind": kind,
        "conversations": conversations,
        "left_out": left_out,
        "estimate": estimate,
        "economy_estimate": economy,
        "availability": availability,
        "form": form,
        "errors": errors or {},
        "tier_labels": TIER_LABELS,
        "tier_order": list(selection.TIER_ORDER),
        "duration": _duration,
        "dollars": _dollars,
        "regenerate": regenerate,
        "single_problem": None,
        "retry_failed": False,
        "seed_slots": 0,
        "include_seed_slots": False,
    }
    if kind == "single" and conversations:
        conversation = conversations[0]
        context["template"] = _template_facts(session, conversation)
        if regenerate:
            context["single_problem"] = revisions.refusal(conversation)
        elif conversation.generation_status not in service.GENERATABLE_STATUSES:
            status = conversation.generation_status.replace("_", " ")
            context["single_problem"] = (
                f"Only planned, failed or incomplete conversations can be generated; this one is {status}. "
                "Regenerate it from its page to replace it with a new version."
            )
    return context


def _single_context(
    session: Session, settings: Settings, ident: str, form: dict[str, Any], *, regenerate: bool = False
) -> dict[str, Any]:
    conversations = selection.resolve_conversations(session, [ident])
    return _dialog_context(
        session, settings, kind="single", conversations=conversations, form=form, regenerate=regenerate
    )


def _batch_context(session: Session, settings: Settings, idents: Sequence[str], form: dict[str, Any]) -> dict[str, Any]:
    chosen = selection.resolve_conversations(session, list(dict.fromkeys(idents)))
    to_generate = [c for c in chosen if c.generation_status in service.GENERATABLE_STATUSES]
    left_out = [c for c in chosen if c.generation_status not in service.GENERATABLE_STATUSES]
    return _dialog_context(session, settings, kind="batch", conversations=to_generate, form=form, left_out=left_out)


def _process_all_context(
    session: Session, settings: Settings, form: dict[str, Any], *, include_seed_slots: bool = False
) -> dict[str, Any]:
    conversations = selection.remaining_conversations(session, include_seed_slots=include_seed_slots)
    context = _dialog_context(session, settings, kind="process_all", conversations=conversations, form=form)
    # Seed slots are the user's choice: shown, counted, and added only when asked for.
    context["include_seed_slots"] = include_seed_slots
    context["seed_slots"] = selection.seed_slot_count(session)
    return context


@router.get("/generate/single", response_class=HTMLResponse)
def generate_single_dialog(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    conversation: Annotated[str, Query(min_length=1, max_length=100)],
    regenerate: bool = False,
) -> Response:
    """The confirmation dialog for generating one planned conversation, or a new version of a generated one."""
    context = _single_context(session, settings, conversation, _form_defaults(user), regenerate=regenerate)
    return _dialog_response(request, context)


@router.get("/generate/batch", response_class=HTMLResponse)
def generate_batch_dialog(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    selected: Annotated[list[str], Query(max_length=schemas.MAX_TARGETS)],
) -> Response:
    """The confirmation dialog for generating the selected planned conversations."""
    return _dialog_response(request, _batch_context(session, settings, selected, _form_defaults(user)))


@router.get("/generate/failed", response_class=HTMLResponse)
def generate_failed_dialog(request: Request, session: SessionDep, settings: SettingsDep, user: UserDep) -> Response:
    """The confirmation dialog for generating every failed conversation again (a batch of them)."""
    idents = [c.conversation_id for c in selection.failed_conversations(session)]
    context = _batch_context(session, settings, idents, _form_defaults(user))
    context["retry_failed"] = True
    return _dialog_response(request, context)


@router.get("/generate/process-all", response_class=HTMLResponse)
def generate_all_dialog(
    request: Request, session: SessionDep, settings: SettingsDep, user: UserDep, seed_slots: bool = False
) -> Response:
    """The confirmation dialog for generating every remaining planned conversation, tier by tier."""
    context = _process_all_context(session, settings, _form_defaults(user), include_seed_slots=seed_slots)
    return _dialog_response(request, context)


def _options(form: dict[str, Any], *, allow_economy: bool) -> tuple[schemas.JobOptions | None, dict[str, str]]:
    """The dialog's fields as job options, or the errors to show beside them."""
    errors: dict[str, str] = {}
    budget: Decimal | None = None
    if form["budget_usd"].strip():
        try:
            budget = Decimal(form["budget_usd"].strip().lstrip("$"))
        except InvalidOperation:
            errors["budget_usd"] = "Enter an amount in dollars, for example 25 or 12.50."
    email = form["notify_email"].strip() if form["notify"] else None
    if form["notify"] and not email:
        errors["notify_email"] = "Enter the address to notify."
    if errors:
        return None, errors
    try:
        options = schemas.JobOptions(
            economy=form["economy"] and allow_economy, budget_usd=budget, notify_email=email or None
        )
    except ValidationError as exc:
        names = {"budget_usd": "budget_usd", "notify_email": "notify_email", "economy": "economy"}
        for error in exc.errors():
            field = names.get(str(error["loc"][0]) if error["loc"] else "", "form")
            errors[field] = str(error["msg"]).removeprefix("Value error, ")
        return None, errors
    return options, errors


def _started(request: Request, job: GenerationJob) -> Response:
    """Off to the new job's dashboard, which greets the user with a toast."""
    url = f"/jobs/{job.id}"
    noun = "conversation" if job.total_conversations == 1 else "conversations"
    message = f"Job started: {job.total_conversations} {noun} queued."
    response: Response
    if is_htmx(request):
        response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        quote(message),
        max_age=FLASH_SECONDS,
        path="/jobs",
        samesite="lax",
        httponly=True,
        secure=request.url.scheme == "https",  # behind a TLS proxy, uvicorn's proxy headers make this https
    )
    return response


def _confirm(
    request: Request,
    session: Session,
    queue: service.JobQueue,
    settings: Settings,
    user: UserDep,
    *,
    kind: schemas.JobType,
    idents: Sequence[str] | None,
    form: dict[str, Any],
    regenerate: bool = False,
    include_seed_slots: bool = False,
) -> Response:
    options, errors = _options(form, allow_economy=kind != "single")
    if options is None:
        if kind == "single":
            context = _single_context(session, settings, (idents or [""])[0], form, regenerate=regenerate)
        elif kind == "batch":
            context = _batch_context(session, settings, idents or [], form)
        else:
            context = _process_all_context(session, settings, form, include_seed_slots=include_seed_slots)
        context["errors"] = errors
        return _dialog_response(request, context)
    job = service.start_job(
        session,
        queue,
        settings=settings,
        user=user.id,
        job_type=kind,
        idents=idents,
        options=options,
        regenerate=regenerate,
        include_seed_slots=include_seed_slots,
    )
    return _started(request, job)


def _form(economy: bool, budget_usd: str, notify: bool, notify_email: str) -> dict[str, Any]:
    return {"economy": economy, "budget_usd": budget_usd, "notify": notify, "notify_email": notify_email}


Checkbox = Annotated[bool, Form()]
Text = Annotated[str, Form(max_length=320)]


@router.post("/generate/single", response_class=HTMLResponse)
def generate_single(
    request: Request,
    session: CommittedSessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    user: UserDep,
    conversation_id: Annotated[str, Form(min_length=1, max_length=100)],
    regenerate: Checkbox = False,
    budget_usd: Text = "",
    notify: Checkbox = False,
    notify_email: Text = "",
) -> Response:
    """Start a job for one planned conversation (or a regeneration of a generated one), then show its dashboard."""
    form = _form(False, budget_usd, notify, notify_email)
    return _confirm(
        request,
        session,
        queue,
        settings,
        user,
        kind="single",
        idents=[conversation_id],
        form=form,
        regenerate=regenerate,
    )


@router.post("/generate/batch", response_class=HTMLResponse)
def generate_batch(
    request: Request,
    session: CommittedSessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    user: UserDep,
    conversation_ids: Annotated[list[str], Form(min_length=1, max_length=schemas.MAX_TARGETS)],
    economy: Checkbox = False,
    budget_usd: Text = "",
    notify: Checkbox = False,
    notify_email: Text = "",
) -> Response:
    """Start one job for the selected planned conversations, then show its dashboard."""
    form = _form(economy, budget_usd, notify, notify_email)
    idents = list(dict.fromkeys(conversation_ids))
    return _confirm(request, session, queue, settings, user, kind="batch", idents=idents, form=form)


@router.post("/generate/process-all", response_class=HTMLResponse)
def generate_all(
    request: Request,
    session: CommittedSessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    user: UserDep,
    economy: Checkbox = False,
    include_seed_slots: Checkbox = False,
    budget_usd: Text = "",
    notify: Checkbox = False,
    notify_email: Text = "",
) -> Response:
    """Start a job for every remaining planned conversation (Tier 1, 2, 3), then show its dashboard."""
    form = _form(economy, budget_usd, notify, notify_email)
    return _confirm(
        request,
        session,
        queue,
        settings,
        user,
        kind="process_all",
        idents=None,
        form=form,
        include_seed_slots=include_seed_slots,
    )


# --------------------------------------------------------------------------------------------------
# Jobs list and dashboard
# --------------------------------------------------------------------------------------------------


def _last_event_id(summary: schemas.JobDetail) -> int:
    return summary.events[-1].id if summary.events else 0


def _current_steps(summary: schemas.JobDetail) -> dict[int, list[schemas.EventRead]]:
    """For each running conversation, its events since its latest start (the events kept in the summary)."""
    running = {it.conversation_number for it in summary.items if it.status == "running"}
    steps: dict[int, list[schemas.EventRead]] = {n: [] for n in running}
    for event in summary.events:
        number = event.conversation_number
        if number not in steps:
            continue
        if event.step in ("preparing_prompt", "resumed_after_crash"):
            steps[number] = []
        steps[number].append(event)
    return steps


def _quality_distribution(summary: schemas.JobDetail) -> list[tuple[str, int]]:
    counts = dict.fromkeys((label for label, _ in QUALITY_BUCKETS), 0)
    for item in summary.items:
        if item.quality_score is None:
            continue
        whole = min(5, max(1, int(item.quality_score)))
        label = next(label for label, floor in QUALITY_BUCKETS if floor == whole)
        counts[label] += 1
    return list(counts.items())


def _dashboard_context(summary: schemas.JobDetail, flash: str | None = None) -> dict[str, Any]:
    items = summary.items
    succeeded = [it for it in items if it.status == "succeeded"]
    recent = sorted(succeeded, key=lambda it: it.finished_at or datetime.min.replace(tzinfo=UTC), reverse=True)[
        :RECENT_COMPLETIONS
    ]
    failed = [it for it in items if it.status == "failed"]
    open_tiers = [it.tier for it in items if it.status in ("queued", "running", "paused")]
    finished = summary.status in FINISHED_STATUSES
    duration = None
    if summary.started_at:
        end = summary.completed_at or datetime.now(UTC)
        duration = (end - summary.started_at).total_seconds()
    decided = len(succeeded) + len(failed)
    distribution = _quality_distribution(summary)
    return {
        "job": summary,
        "running": [it for it in items if it.status == "running"],
        "current_steps": _current_steps(summary),
        "recent": recent,
        "failed": failed,
        "current_tier": open_tiers[0] if open_tiers and summary.status in ACTIVE_STATUSES else None,
        "finished": finished,
        "duration_seconds": duration,
        "success_rate": round(100 * len(succeeded) / decided, 1) if decided else None,
        "distribution": distribution,
        "chart": json.dumps({"labels": [label for label, _ in distribution], "counts": [n for _, n in distribution]}),
        "last_event_id": _last_event_id(summary),
        "flash": flash,
        "job_type_labels": JOB_TYPE_LABELS,
        "job_status_labels": JOB_STATUS_LABELS,
        "item_status_labels": ITEM_STATUS_LABELS,
        "tier_labels": TIER_LABELS,
        "steps": GENERATION_STEPS,
        "duration": _duration,
        "dollars": _dollars,
    }


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: SessionDep) -> Response:
    """Generation jobs, newest first, with status, progress and cost; refreshed live while jobs run."""
    jobs = [service.job_summary(session, job) for job in service.list_jobs(session, limit=JOBS_LISTED)]
    context = {
        "jobs": jobs,
        "events_since": datetime.now(UTC).isoformat(),
        "job_type_labels": JOB_TYPE_LABELS,
        "job_status_labels": JOB_STATUS_LABELS,
        "dollars": _dollars,
    }
    block = "jobs_table" if is_htmx(request) else None
    return templates.TemplateResponse(request, "jobs.html", context, block_name=block)


def _dashboard(request: Request, session: Session, job_id: uuid.UUID, *, toast: str | None = None) -> Response:
    summary = service.job_summary(session, service.get_job(session, job_id), with_details=True)
    if is_htmx(request):
        response = templates.TemplateResponse(
            request, "job_dashboard.html", _dashboard_context(summary), block_name="job_live"
        )
        if toast:
            response.headers["HX-Trigger"] = json.dumps({"showToast": {"message": toast, "kind": "success"}})
        return response
    raw_flash = request.cookies.get(FLASH_COOKIE)
    flash = unquote(raw_flash)[:300] if raw_flash else None
    response = templates.TemplateResponse(request, "job_dashboard.html", _dashboard_context(summary, flash))
    if raw_flash:
        response.delete_cookie(FLASH_COOKIE, path="/jobs")
    return response


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, session: SessionDep, job_id: uuid.UUID) -> Response:
    """A job's dashboard: progress overall and per tier, live step log, completions, failures, cost, summary."""
    return _dashboard(request, session, job_id)


def _after_control(request: Request, session: Session, job_id: uuid.UUID, message: str) -> Response:
    if is_htmx(request):
        return _dashboard(request, session, job_id, toast=message)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/jobs/{job_id}/pause", response_class=HTMLResponse)
def pause_job(request: Request, session: CommittedSessionDep, queue: QueueDep, job_id: uuid.UUID) -> Response:
    """Pause the job: queued work stops now, calls in flight finish and are saved."""
    service.pause_job(session, queue, job_id)
    return _after_control(request, session, job_id, "Job paused: calls already in flight will finish and be saved.")


@router.post("/jobs/{job_id}/resume", response_class=HTMLResponse)
def resume_job(request: Request, session: CommittedSessionDep, queue: QueueDep, job_id: uuid.UUID) -> Response:
    """Resume a paused job: its remaining conversations are queued again."""
    service.resume_job(session, queue, job_id)
    return _after_control(request, session, job_id, "Job resumed.")


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
def cancel_job(request: Request, session: CommittedSessionDep, queue: QueueDep, job_id: uuid.UUID) -> Response:
    """Cancel the job: queued work is dropped and a call in flight is aborted without saving."""
    service.cancel_job(session, queue, job_id)
    return _after_control(request, session, job_id, "Job cancelled.")


@router.post("/jobs/{job_id}/retry-failed", response_class=HTMLResponse)
def retry_failed(request: Request, session: CommittedSessionDep, queue: QueueDep, job_id: uuid.UUID) -> Response:
    """Queue the job's failed conversations again."""
    service.retry_failed(session, queue, job_id)
    return _after_control(request, session, job_id, "Failed conversations queued again.")
