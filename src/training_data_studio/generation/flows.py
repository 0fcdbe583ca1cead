"""The flow of one queued generation, the one place where generation meets the other features (plan,
prompt templates, conversations, quality): prepare and claim, call the model, save everything in one
transaction.

Each phase is its own short transaction, so a model call that takes minutes holds no database lock, and a
worker killed at any point leaves either nothing or a complete conversation:
  1. prepare: stop if the job was paused or cancelled, check the budget, claim the conversation
     (planned→in_progress), build the prompt;
  2. call the model (paced and retried), outside any transaction;
  3. save: the conversation, its turns, annotations, metrics and the attempts, all at once — or, on failure,
     the attempts and the error, with the conversation marked failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..conversations import revisions
from ..conversations.consultant import CONSULTANT_NAME
from ..conversations.counting import analysed_sentences
from ..conversations.document import MAX_TURNS, ConversationBlock
from ..conversations.store import (
    StoredExchanges,
    append_exchanges,
    document_of_block,
    save_conversation,
    stored_exchanges,
)
from ..llm.pricing import cost_cents
from ..models import (
    ConversationTemplate,
    GenerationAttempt,
    GenerationJob,
    GenerationJobItem,
    TrainingConversation,
    TrainingTurn,
)
from ..models.enums import ConversationStatus, ItemStatus, JobStatus
from ..plan.service import PlanRow
from ..quality.generated import generated_measure
from . import service
from .generate import Attempt, GenerationFailed, GenerationOutcome, InvalidOutput, generate_conversation
from .notify import send_completion_email
from .prompts import (
    BuiltPrompt,
    ExampleCandidate,
    PromptError,
    build_prompt,
    estimate,
    pick_examples,
)
from .runtime import Runtime

log = logging.getLogger(__name__)

PROVIDER_LABELS = {"anthropic": "Claude", "openai": "the model"}


@dataclass(frozen=True)
class Prepared:
    item_id: uuid.UUID
    job_id: uuid.UUID
    conversation_row_id: uuid.UUID
    conversation_number: int
    plan_row: PlanRow
    prompt: BuiltPrompt
    template_row_id: uuid.UUID | None
    template_version: int | None
    started: datetime
    consultant_profile: dict[str, Any]
    # A completion: the turns the conversation holds already, which the new ones follow.
    stored: StoredExchanges | None = None


def plan_row_of(conversation: TrainingConversation) -> PlanRow:
    """The plan facts of a conversation row, as the prompt builder and the checks expect them."""
    data = {name: getattr(conversation, name) for name in PlanRow.model_fields}
    data["tier_template"] = data["tier_template"] or conversation.tier
    data["tier_batch"] = data["tier_batch"] or 1
    data["turn_count_target"] = data["turn_count_target"] or max(conversation.turn_count, 3)
    for key in ("starting_emotion", "ending_emotion"):
        data[key] = data[key] or "unspecified"
    for key in ("starting_emotion_intensity", "ending_emotion_intensity"):
        data[key] = data[key] if data[key] is not None else Decimal("0.5")
    return PlanRow.model_validate(data)


def example_candidates(session: Session, exclude: uuid.UUID) -> list[ExampleCandidate]:
    """Approved seed conversations, rebuilt in the seed format from their stored turns."""
    seeds = session.scalars(
        select(TrainingConversation).where(
            TrainingConversation.is_seed_example,
            TrainingConversation.generation_status == ConversationStatus.APPROVED,
            TrainingConversation.id != exclude,
        )
    ).all()
    if not seeds:
        return []
    turns = session.execute(
        select(TrainingTurn.conversation_id, TrainingTurn.source_json)
        .where(TrainingTurn.conversation_id.in_([s.id for s in seeds]))
        .order_by(TrainingTurn.conversation_id, TrainingTurn.turn_number)
    ).all()
    pairs: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for conversation_id, source in turns:
        pairs.setdefault(conversation_id, []).append(source)
    return [
        ExampleCandidate(
            conversation_id=s.conversation_id,
            template_key=plan_template_key(s),
            persona_type=s.persona_type,
            document={**(s.source_envelope or {}), "training_pairs": pairs[s.id]},
        )
        for s in seeds
        if s.id in pairs
    ]


def plan_template_key(conversation: TrainingConversation) -> str | None:
    if conversation.tier in ("tier2_scenario", "tier3_edge"):
        return conversation.tier
    return conversation.tier_template


def template_for(session: Session, conversation: TrainingConversation) -> ConversationTemplate:
    key = plan_template_key(conversation)
    template = session.scalars(
        select(ConversationTemplate).where(ConversationTemplate.template_id == key)
    ).one_or_none()
    if template is None:
        raise PromptError(f"No prompt template '{key}' for conversation #{conversation.conversation_number}.")
    if not template.is_active:
        raise PromptError(
            f"Template '{key}' is deactivated; activate it to generate #{conversation.conversation_number}."
        )
    return template


def _item_event(
    session: Session,
    item: GenerationJobItem,
    conversation_number: int,
    *,
    step: str,
    message: str,
    level: str = "info",
    data: dict[str, Any] | None = None,
) -> None:
    """One step of the job log about this item's conversation."""
    service.record_event(
        session,
        item.job_id,
        step=step,
        message=message,
        level=level,
        item_id=item.id,
        conversation_number=conversation_number,
        data=data,
    )


def _finish_item(session: Session, item: GenerationJobItem, status: ItemStatus, *, error: str | None = None) -> None:
    item.status = status
    item.error = error
    item.finished_at = datetime.now(UTC)
    if item.started_at:
        item.duration_seconds = Decimal(str(round((item.finished_at - item.started_at).total_seconds(), 2)))


def lock_job_and_item(
    session: Session, item_id: uuid.UUID, job_id: uuid.UUID | None = None
) -> tuple[GenerationJob, GenerationJobItem] | None:
    """Lock the item's job, then the item: the order pause, resume, cancel and retry take them in. Taking
    them the other way round let a worker and a control action (or two workers' event inserts, whose
    foreign-key checks share-lock the job) wait on each other in a cycle. None when the item is gone."""
    if job_id is None:
        job_id = session.scalar(select(GenerationJobItem.job_id).where(GenerationJobItem.id == item_id))
        if job_id is None:
            return None
    job = session.get(GenerationJob, job_id, with_for_update=True)
    item = session.get(GenerationJobItem, item_id, with_for_update=True)
    if job is None or item is None:
        return None
    return job, item


def fail_unconfigured(runtime: Runtime, item_id: uuid.UUID) -> None:
    from ..llm.factory import GenerationUnavailable

    message = GenerationUnavailable().message
    with runtime.database.session_scope() as session:
        locked = lock_job_and_item(session, item_id)
        if locked is None or locked[1].status in service.TERMINAL_ITEM_STATUSES:
            return
        item = locked[1]
        _finish_item(session, item, ItemStatus.FAILED, error=message)
        service.record_event(session, item.job_id, step="failed", level="error", message=message, item_id=item.id)
        service.refresh_job_totals(session, item.job_id)


def stored_for_completion(session: Session, item: GenerationJobItem) -> StoredExchanges | None:
    """The stored turns an incomplete conversation's generation continues; None for a generation from
    nothing (a planned or failed conversation has no turns; a regeneration replaces them all)."""
    if item.regenerate:
        return None
    conversation = session.get(TrainingConversation, item.conversation_id)
    assert conversation is not None
    return stored_to_continue(session, conversation)


def stored_to_continue(session: Session, conversation: TrainingConversation) -> StoredExchanges | None:
    """The stored turns a generation of this conversation (not a regeneration) would continue, if any."""
    if conversation.generation_status not in (ConversationStatus.INCOMPLETE, ConversationStatus.IN_PROGRESS):
        return None
    stored = stored_exchanges(session, conversation)
    return stored if stored.pairs else None


def completion_turns(conversation: TrainingConversation, stored: StoredExchanges) -> int:
    """How many exchanges a completed conversation has: its planned turns, and at least one more than it
    holds when it ends on a client message (the reply to it). PromptError when nothing is left to write."""
    number = conversation.conversation_number
    held = len(stored.pairs)
    target = max(conversation.turn_count_target or 0, held + (1 if stored.open_message else 0))
    if target > MAX_TURNS:
        raise PromptError(
            f"#{number} holds {held} turns and ends on a client message; a conversation has at most {MAX_TURNS} "
            "turns, so there is no room to answer it."
        )
    if target <= held:
        raise PromptError(
            f"#{number} holds {held} of its {target} planned turns and ends on a consultant reply: there is "
            "nothing to complete. Review it, or raise its turn target first."
        )
    return target


def prompt_parts(
    session: Session, conversation: TrainingConversation, stored: StoredExchanges | None = None
) -> tuple[ConversationTemplate, PlanRow, BuiltPrompt, dict[str, Any]]:
    """Template, plan facts, prompt and consultant profile for one conversation (PromptError if impossible).
    ``stored``: the turns a completion continues; the prompt asks for the turns after them."""
    template = template_for(session, conversation)
    plan_row = plan_row_of(conversation)
    if stored is not None:
        plan_row = plan_row.model_copy(update={"turn_count_target": completion_turns(conversation, stored)})
    examples = pick_examples(example_candidates(session, conversation.id), plan_row)
    prompt = build_prompt(template, plan_row, [e.document for e in examples])
    return template, plan_row, prompt, _consultant_profile(examples)


def prepared_again(runtime: Runtime, item_id: uuid.UUID) -> Prepared | None:
    """The Prepared of an item already claimed and running (a batch result arriving later)."""
    with runtime.database.session_scope() as session:
        item = session.get(GenerationJobItem, item_id)
        if item is None or item.status != ItemStatus.RUNNING:
            return None
        conversation = session.get(TrainingConversation, item.conversation_id)
        assert conversation is not None
        stored = stored_for_completion(session, item)
        template, plan_row, prompt, profile = prompt_parts(session, conversation, stored)
        return Prepared(
            item_id=item.id,
            job_id=item.job_id,
            conversation_row_id=conversation.id,
            conversation_number=conversation.conversation_number,
            plan_row=plan_row,
            prompt=prompt,
            template_row_id=template.id,
            template_version=template.version,
            started=item.started_at or datetime.now(UTC),
            consultant_profile=profile,
            stored=stored,
        )


def prepare(runtime: Runtime, item_id: uuid.UUID, *, batch: bool = False) -> Prepared | None:
    """Claim the item's conversation and build its prompt; None when there is nothing (more) to do."""
    assert runtime.provider is not None
    with runtime.database.session_scope() as session:
        locked = lock_job_and_item(session, item_id)
        if locked is None or locked[1].status in service.TERMINAL_ITEM_STATUSES:
            return None  # already done (a re-run after a crash) or deleted
        job, item = locked
        if job.status in (JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.FAILED):
            if item.status == ItemStatus.RUNNING:  # its worker died; the conversation it claimed goes back
                service.release_conversation(session, item, failed=False, error=None)
            _finish_item(session, item, ItemStatus.CANCELLED)
            return None
        if job.status == JobStatus.PAUSED:
            if item.status == ItemStatus.RUNNING:  # its worker died while the job was paused: give the claim back
                service.release_conversation(session, item, failed=False, error=None)
            item.status = ItemStatus.PAUSED  # resume queues it again
            item.procrastinate_job_id = None
            return None
        conversation = session.get(TrainingConversation, item.conversation_id)
        assert conversation is not None
        number = conversation.conversation_number
        stored = stored_for_completion(session, item)
        try:
            template, plan_row, prompt, profile = prompt_parts(session, conversation, stored)
        except PromptError as exc:
            _finish_item(session, item, ItemStatus.FAILED, error=exc.message)
            _item_event(
                session,
                item,
                number,
                step="failed",
                level="error",
                message=exc.message,
            )
            service.refresh_job_totals(session, job.id)
            return None
        if job.budget_cents is not None and not batch:  # a batch checks its whole budget before submitting
            held = len(stored.pairs) if stored is not None else 0
            expected = estimate(prompt, runtime.provider.model, stored_turns=held).cost_high_cents
            if job.total_cost_cents + expected > job.budget_cents:
                reason = (
                    f"Paused before #{number}: it could cost up to ${expected / 100:.2f} and the job has spent "
                    f"${job.total_cost_cents / 100:.2f} of its ${job.budget_cents / 100:.2f} budget."
                )
                item.status = ItemStatus.QUEUED
                service.pause_job(session, runtime.queue, job.id, reason=reason)
                return None
        claim = service.claim_conversation(session, item)
        if claim is None:
            _finish_item(session, item, ItemStatus.SKIPPED, error="Already generated or being generated elsewhere.")
            _item_event(
                session,
                item,
                number,
                step="skipped",
                level="warning",
                message=f"#{number} was already generated or is being generated by another job; skipped.",
            )
            service.refresh_job_totals(session, job.id)
            return None
        now = datetime.now(UTC)
        item.status = ItemStatus.RUNNING
        item.started_at = item.started_at if claim.taken_over and item.started_at else now
        item.attempts += 1
        if job.started_at is None:
            job.started_at = now
        job.status = JobStatus.IN_PROGRESS
        if claim.taken_over:
            _item_event(
                session,
                item,
                number,
                step="resumed_after_crash",
                level="warning",
                message=f"#{number}: its worker stopped; starting it again.",
            )
        _item_event(
            session,
            item,
            number,
            step="preparing_prompt",
            message="Preparing prompt…",
            data={"template": template.template_id, "examples": prompt.example_ids},
        )
        label = PROVIDER_LABELS.get(runtime.provider.name, runtime.provider.name)
        _item_event(
            session,
            item,
            number,
            step="calling_model",
            message="Adding to the Message Batch…" if batch else f"Calling {label} API…",
            data={"model": runtime.provider.model},
        )
        return Prepared(
            item_id=item.id,
            job_id=job.id,
            conversation_row_id=conversation.id,
            conversation_number=number,
            plan_row=plan_row,
            prompt=prompt,
            template_row_id=template.id,
            template_version=template.version,
            started=now,
            consultant_profile=profile,
            stored=stored,
        )


# The generator's warnings that no quality check measures: shown in review as warnings of the conversation.
# (A partial breakdown and an unusual reply length are measured by quality's own checks.)
UNMEASURED_WARNINGS = frozenset({"score_clamped", "history_summarised"})


def _attempt_rows(prepared: Prepared, attempts: list[Attempt], *, accepted: bool) -> list[GenerationAttempt]:
    rows = []
    for attempt in attempts:
        # A part accepted by the checks counts as accepted only when the whole conversation was saved.
        ok = accepted and attempt.accepted
        rows.append(
            GenerationAttempt(
                item_id=prepared.item_id,
                conversation_id=prepared.conversation_row_id,
                attempt=attempt.number,
                kind="repair" if attempt.repair else "generate",
                outcome="accepted" if ok else "invalid",
                stop_reason=attempt.reply.stop_reason,
                raw_reply=attempt.reply.raw_response,
                problems=[p.as_dict() for p in attempt.problems] or None,
                part=attempt.part,
                normalisations=[n.as_dict() for n in attempt.normalisations] or None,
                warnings=[w.as_dict() for w in attempt.warnings] or None,
                input_tokens=attempt.reply.usage.input_tokens,
                output_tokens=attempt.reply.usage.output_tokens,
            )
        )
    return rows


def _consultant_profile(examples: list[ExampleCandidate]) -> dict[str, Any]:
    """The consultant as the example seeds describe her, so generated files look like the seeds."""
    for example in examples:
        profile = example.document.get("consultant_profile")
        if isinstance(profile, dict) and profile.get("name"):
            return dict(profile)
    return {"name": CONSULTANT_NAME}


def _envelope_of(block: ConversationBlock, *, model: str, consultant_profile: dict[str, Any]) -> dict[str, Any]:
    """The file-level keys of a generated conversation, as a single-conversation seed file has them (what its
    export returns around the pairs)."""
    return {
        "dataset_metadata": {
            "dataset_name": "Training Data Studio generated conversations",
            "conversation_source": f"Generated by {model}",
            "created_date": datetime.now(UTC).date().isoformat(),
            "total_conversations": 1,
            "total_turns": len(block.training_pairs),
        },
        "consultant_profile": consultant_profile,
        "conversation_metadata": block.conversation_metadata.to_json_dict(),
    }


def save_success(runtime: Runtime, prepared: Prepared, outcome: GenerationOutcome) -> None:
    assert runtime.provider is not None
    number = prepared.conversation_number
    with runtime.database.session_scope() as session:
        locked = lock_job_and_item(session, prepared.item_id, prepared.job_id)
        conversation = session.get(TrainingConversation, prepared.conversation_row_id, with_for_update=True)
        assert locked is not None
        assert conversation is not None
        job, item = locked
        if job.status == JobStatus.CANCELLED or conversation.generation_status != ConversationStatus.IN_PROGRESS:
            # Cancelled while the call was in flight: keep what it cost, save nothing of it.
            session.add_all(_attempt_rows(prepared, outcome.attempts, accepted=False))
            service.release_conversation(session, item, failed=False, error=None)
            if item.status not in service.TERMINAL_ITEM_STATUSES:  # never overwrite an outcome already recorded
                _finish_item(session, item, ItemStatus.CANCELLED)
            service.refresh_job_totals(session, job.id)
            return
        _item_event(
            session,
            item,
            number,
            step="processing_response",
            message="Processing response…",
        )
        _item_event(
            session,
            item,
            number,
            step="parsing_structure",
            message="Parsing conversation structure…",
        )
        cost = cost_cents(outcome.model, outcome.usage, batch=bool((job.options or {}).get("economy")))
        finished = datetime.now(UTC)
        duration = Decimal(str(round(outcome.duration_seconds, 2)))
        generated = {
            "generation_model": outcome.model,
            "generation_date": finished,
            "generation_duration_seconds": duration,
            "generation_cost_cents": cost.cents,
            "generation_attempts": item.attempts,
            "input_tokens": outcome.usage.input_tokens,
            "output_tokens": outcome.usage.output_tokens,
            "cache_read_tokens": outcome.usage.cache_read_tokens,
            "cache_write_tokens": outcome.usage.cache_write_tokens,
            "template_id": prepared.template_row_id,
            "template_version": prepared.template_version,
            "generation_error": None,
            "human_reviewed": False,
        }
        measure = generated_measure(
            example_texts=prepared.prompt.example_texts,
            warnings=[w.as_dict() for w in outcome.warnings if w.code in UNMEASURED_WARNINGS],
        )
        new_pairs = outcome.new_pairs
        if prepared.stored is not None:
            # The stored turns stay as they are; the incomplete version is kept as a revision, and the people's
            # decisions on the conversation (seed, variations) stay.
            revisions.keep_previous_version(
                session,
                conversation,
                previous_status=ConversationStatus.INCOMPLETE,
                job_id=job.id,
                user=job.created_by,
                completed=True,
            )
            saved = append_exchanges(
                session,
                conversation,
                new_pairs,
                measure=measure,
                user=job.created_by,
                status=ConversationStatus.GENERATED,
                extra={
                    **generated,
                    "is_seed_example": conversation.is_seed_example,
                    "use_for_variations": conversation.use_for_variations,
                    **revisions.review_fields_reset(),
                },
            )
            saved_what = f"Saved {len(new_pairs)} new turns after the {outcome.stored_turns} stored ones"
        else:
            block = outcome.conversation
            doc = document_of_block(
                block, _envelope_of(block, model=outcome.model, consultant_profile=prepared.consultant_profile)
            )
            replaced_status = item.previous_status if item.regenerate else None  # set by a regeneration's claim
            if replaced_status is not None:
                revisions.keep_previous_version(
                    session, conversation, previous_status=replaced_status, job_id=job.id, user=job.created_by
                )
            saved = save_conversation(
                session,
                doc,
                user=job.created_by,
                status=ConversationStatus.GENERATED,
                generation_method=runtime.provider.name,
                measure=measure,
                plan_row=conversation,
                extra={
                    **generated,
                    # Seed status and review are people's decisions: a model that copies them from its examples
                    # (the prompt asks it not to) must not make its own output a seed or a reviewed conversation.
                    "is_seed_example": False,
                    "use_for_variations": False,
                    **(revisions.review_fields_reset() if replaced_status is not None else {}),
                },
            )
            saved_what = f"Saved {len(new_pairs)} turns"
        # Reported once it is true: the conversation, its annotations and its metrics were written just now.
        sentences = sum(len(analysed_sentences(pair)) for pair in new_pairs)
        _item_event(
            session,
            item,
            number,
            step="saving_turns",
            message=(
                f"{saved_what} with their emotional context and response strategy, "
                f"{sentences} analysed sentences and the quality metrics."
            ),
        )
        session.add_all(_attempt_rows(prepared, outcome.attempts, accepted=True))
        _finish_item(session, item, ItemStatus.SUCCEEDED)
        item.duration_seconds = duration
        item.cost_cents = cost.cents
        item.input_tokens = outcome.usage.input_tokens
        item.output_tokens = outcome.usage.output_tokens
        item.cache_read_tokens = outcome.usage.cache_read_tokens
        item.cache_write_tokens = outcome.usage.cache_write_tokens
        item.quality_score = saved.quality_score
        score = f", quality {saved.quality_score}" if saved.quality_score is not None else ""
        _item_event(
            session,
            item,
            number,
            step="complete",
            level="success",
            message=f"Generation complete! #{number}{score}, ${cost.cents / 100:.2f}, {duration}s.",
            data={"quality_score": str(saved.quality_score) if saved.quality_score is not None else None},
        )
        finished_job = service.refresh_job_totals(session, job.id)
        completed = finished_job.status == JobStatus.COMPLETED
        job_id = finished_job.id
    if completed:
        send_completion_email(runtime, job_id)


def save_failure(runtime: Runtime, prepared: Prepared, error: GenerationFailed) -> None:
    with runtime.database.session_scope() as session:
        locked = lock_job_and_item(session, prepared.item_id, prepared.job_id)
        assert locked is not None
        item = locked[1]
        rows = _attempt_rows(prepared, error.attempts, accepted=False)
        if not isinstance(error, InvalidOutput):
            rows.append(
                GenerationAttempt(
                    item_id=item.id,
                    conversation_id=prepared.conversation_row_id,
                    attempt=len(rows) + 1,
                    kind="generate",
                    outcome="error",
                    raw_reply=getattr(getattr(error, "cause", None), "body", None),
                    problems=[{"message": error.message}],
                )
            )
        session.add_all(rows)
        usage = error.usage
        cost = cost_cents(error.model, usage)
        item.cost_cents = cost.cents
        item.input_tokens, item.output_tokens = usage.input_tokens, usage.output_tokens
        _finish_item(session, item, ItemStatus.FAILED, error=error.message)
        service.release_conversation(session, item, failed=True, error=error.message)
        _item_event(
            session,
            item,
            prepared.conversation_number,
            step="failed",
            level="error",
            message=f"#{prepared.conversation_number} failed: {error.message}",
        )
        finished_job = service.refresh_job_totals(session, prepared.job_id)
        completed = finished_job.status == JobStatus.COMPLETED
    if completed:
        send_completion_email(runtime, prepared.job_id)


def release_after_abort(runtime: Runtime, prepared: Prepared) -> None:
    with runtime.database.session_scope() as session:
        locked = lock_job_and_item(session, prepared.item_id, prepared.job_id)
        assert locked is not None
        job, item = locked
        service.release_conversation(session, item, failed=False, error=None)
        message = f"#{prepared.conversation_number}: the call in flight was aborted; nothing was saved."
        if job.status == JobStatus.PAUSED:
            # A forced pause (a second Ctrl-C in `tds generate`) stopped the call: resume runs it again.
            item.status = ItemStatus.PAUSED
            item.procrastinate_job_id = None
            message = f"#{prepared.conversation_number}: the call in flight was stopped; it runs again on resume."
        else:
            _finish_item(session, item, ItemStatus.CANCELLED)
        _item_event(
            session,
            item,
            prepared.conversation_number,
            step="aborted",
            level="warning",
            message=message,
        )
        service.refresh_job_totals(session, prepared.job_id)


async def run_item(runtime: Runtime, item_id: uuid.UUID) -> None:
    if runtime.provider is None:
        await asyncio.to_thread(fail_unconfigured, runtime, item_id)
        return
    prepared = await asyncio.to_thread(prepare, runtime, item_id)
    if prepared is None:
        return
    assert runtime.provider is not None
    progress = StreamProgress(runtime, prepared)
    reporter = asyncio.create_task(progress.report_every(PROGRESS_EVENT_SECONDS))
    try:
        stored = prepared.stored
        outcome = await generate_conversation(
            runtime.provider,
            prepared.prompt,
            prepared.plan_row,
            stored=stored.pairs if stored is not None else (),
            open_message=stored.open_message if stored is not None else None,
            on_progress=progress.update,
        )
    except GenerationFailed as exc:
        log.warning("generation of #%s failed: %s", prepared.conversation_number, exc.message)
        await asyncio.to_thread(save_failure, runtime, prepared, exc)
        return
    except asyncio.CancelledError:
        await asyncio.shield(asyncio.to_thread(release_after_abort, runtime, prepared))
        raise
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    await asyncio.to_thread(save_success, runtime, prepared, outcome)


# How often a conversation whose reply is streaming in logs its output tokens so far (a job event, which the
# Jobs dashboard shows live and `tds generate` prints): often enough to see it move at tens of tokens a
# second, seldom enough that 90 conversations in flight do not flood the log.
PROGRESS_EVENT_SECONDS = 5.0


class StreamProgress:
    """The latest streaming progress of one conversation, logged as a ``streaming`` event now and then."""

    def __init__(self, runtime: Runtime, prepared: Prepared) -> None:
        self.runtime = runtime
        self.prepared = prepared
        self.part: str | None = None
        self.tokens = 0
        self._logged: tuple[str | None, int] = (None, 0)

    def update(self, part: str, tokens: int) -> None:
        self.part, self.tokens = part, tokens

    def _record(self) -> None:
        number = self.prepared.conversation_number
        with self.runtime.database.session_scope() as session:
            service.record_event(
                session,
                self.prepared.job_id,
                step="streaming",
                message=f"#{number}: writing {self.part}, {self.tokens:,} output tokens so far",
                item_id=self.prepared.item_id,
                conversation_number=number,
                data={"part": self.part, "output_tokens": self.tokens},
            )

    async def report_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            current = (self.part, self.tokens)
            if self.part is None or current == self._logged:
                continue
            self._logged = current
            await asyncio.to_thread(self._record)
