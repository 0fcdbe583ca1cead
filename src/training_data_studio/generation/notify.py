"""E-mail when a job completes, for users who opted in. SMTP_URL configures the server; without it the
option is disabled in the UI with the reason, and nothing is sent."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..core.config import Settings
from ..core.errors import AppError
from ..models import GenerationJob
from . import service

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger(__name__)
# Sending must never hold a worker for long: a slow or dead SMTP server fails the e-mail, not the job.
SMTP_TIMEOUT_SECONDS = 15


def email_unavailable_reason(settings: Settings) -> str | None:
    """Why completion e-mails cannot be sent, or None when they can."""
    if settings.smtp_url is None or not settings.smtp_url.get_secret_value():
        return "E-mail is not configured: set SMTP_URL (for example smtp://user:password@smtp.example.com:587)."
    try:
        _parse(settings.smtp_url.get_secret_value())
    except AppError as exc:
        return exc.message
    return None


def _parse(url: str) -> tuple[str, str, int, str | None, str | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise AppError("smtp_url", "SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465.")
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.scheme, parts.hostname, port, user, password


def send_email(settings: Settings, *, to: str, subject: str, body: str) -> None:
    assert settings.smtp_url is not None
    scheme, host, port, user, password = _parse(settings.smtp_url.get_secret_value())
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if scheme == "smtps":
        with smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=ssl.create_default_context()) as smtp:
            if user and password:
                smtp.login(user, password)
            smtp.send_message(message)
        return
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
        if user and password:
            smtp.login(user, password)
        smtp.send_message(message)


def completion_text(summary: service.schemas.JobDetail) -> tuple[str, str]:
    subject = f"Generation job {summary.status}: {summary.completed_conversations} of {summary.total_conversations}"
    lines = [
        f"Job {summary.id} ({summary.job_type}) is {summary.status}.",
        "",
        f"Generated: {summary.completed_conversations}",
        f"Failed: {summary.failed_conversations}",
        f"Cancelled: {summary.cancelled_conversations}",
        f"Total cost: ${summary.total_cost_cents / 100:.2f}",
    ]
    if summary.average_quality is not None:
        lines.append(f"Average quality: {summary.average_quality:.1f} / 5")
    failed = [i for i in summary.items if i.status == "failed"]
    if failed:
        lines += ["", "Failed conversations:"] + [f"  #{i.conversation_number}: {i.error}" for i in failed]
    return subject, "\n".join(lines) + "\n"


def send_completion_email(runtime: Runtime, job_id: uuid.UUID) -> None:
    with runtime.database.session_scope() as session:
        job = session.get(GenerationJob, job_id)
        if job is None or not job.notify_email:
            return
        reason = email_unavailable_reason(runtime.settings)
        if reason:
            service.record_event(session, job_id, step="email_skipped", level="warning", message=reason)
            return
        subject, body = completion_text(service.job_summary(session, job, with_details=True))
        try:
            send_email(runtime.settings, to=job.notify_email, subject=subject, body=body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("completion e-mail for job %s failed: %s", job_id, type(exc).__name__)
            service.record_event(
                session,
                job_id,
                step="email_failed",
                level="warning",
                message=f"The completion e-mail to {job.notify_email} could not be sent ({type(exc).__name__}).",
            )
            return
        service.record_event(
            session, job_id, step="email_sent", message=f"Completion e-mail sent to {job.notify_email}."
        )
