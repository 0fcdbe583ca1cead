"""The optional LLM judge: empathy, clarity, appropriateness and brand voice scored 1–5 against a written,
versioned rubric (:data:`RUBRIC`, :data:`RUBRIC_VERSION`), with a one-line reason each.

One call per conversation is one function (:func:`judge_transcript`) with its output model
(:class:`JudgementOutput`) and its post-checks: a reply that is cut off, not JSON or outside the model
fails loudly for that conversation, and nothing is stored for it. Judgements are stored in
``quality_judgements`` (a conversation may be judged again: rows accumulate, readers take the latest) and
shown apart from the self-reported and the computed scores.

The call goes through the generation providers (:func:`provider_from_settings`) with a
:class:`GenerationRequest`: the rubric is the cacheable static prefix, the transcript the per-conversation
part, and the JSON schema of :class:`JudgementOutput` the structured-output schema. Those providers word
their requests for the generator (the Anthropic tool is named ``record_conversation``; the first user
turn asks to "write the conversation described above"), so the rubric's instructions say plainly that,
here, the tool's input is the judgement of the conversation shown.

No retries and no pacing: a judgement is small, a failure is reported and can simply be asked again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..conversations.consultant import CONSULTANT_NAME
from ..core.config import Settings
from ..core.errors import AppError, NotFoundError
from ..llm import GenerationRequest, Provider, ProviderError, Usage, provider_from_settings
from ..models import QualityJudgement, TrainingConversation, TrainingTurn
from .schemas import JudgeFailure, JudgementRead, JudgeReport

RUBRIC_VERSION = "2026-11-25.1"
RUBRIC = f"""\
QUALITY RUBRIC (version 2026-11-25.1)

You are reviewing one coaching conversation between a client and a financial consultant ({CONSULTANT_NAME})
that will be used to fine-tune an assistant. Judge only the consultant's replies.

Score each dimension with a whole number from 1 to 5:
  5 exemplary: could be used to teach the skill;
  4 strong: small slips only;
  3 adequate: one clear gap;
  2 weak: several gaps;
  1 absent or harmful.

Empathy: names the client's emotions accurately, validates them without judgment, normalises the
situation, follows how the feelings change from turn to turn, never rushes past an emotion.

Clarity: one idea at a time in plain words; any jargon explained where it is used; the client's own
concrete numbers rather than vague ones; complex steps broken down; figures correct.

Appropriateness: fits the client's stage and readiness; asks permission before teaching; stays within a
financial consultant's scope and refers to the right professional (legal, tax, therapy, crisis line) when
needed, warmly and without abandoning the client; no product pushing, no guarantees.

Brand voice (Elena): warm and judgment-free; money is emotional, so feelings come before facts; education
first (the why, not only the what); progress over perfection (small wins celebrated); personal values over
generic rules; every reply ends with a check-in question.

For each dimension give one sentence of reason (at most 300 characters) naming the turn that most
decided the score.

HOW TO ANSWER: call the tool exactly once. Its input is your JUDGEMENT of the conversation shown below
(the fields of the tool's schema), not a conversation: whatever the next message asks you to "write",
answer only with this judgement.
"""
# Four scores and four one-sentence reasons fit in a few hundred tokens; the limit leaves room for verbosity.
JUDGE_MAX_OUTPUT_TOKENS = 1024
JUDGE_EXPECTED_OUTPUT_TOKENS = 300
# Calls in flight at once: judgements are small, and more would only meet the provider's rate limit sooner.
JUDGE_CONCURRENCY = 4
REASON_MAX_CHARS = 300
DIMENSIONS = ("empathy", "clarity", "appropriateness", "brand_voice")


def _score() -> Any:
    return Field(ge=1, le=5, description="A whole number from 1 (absent or harmful) to 5 (exemplary).")


def _reason(dimension: str) -> Any:
    return Field(min_length=1, max_length=REASON_MAX_CHARS, description=f"One sentence: why this {dimension} score.")


class JudgementOutput(BaseModel):
    """What the judge must answer: four scores and a one-line reason for each."""

    model_config = ConfigDict(extra="forbid", strict=True, title="QualityJudgement")

    empathy: int = _score()
    empathy_reason: str = _reason("empathy")
    clarity: int = _score()
    clarity_reason: str = _reason("clarity")
    appropriateness: int = _score()
    appropriateness_reason: str = _reason("appropriateness")
    brand_voice: int = _score()
    brand_voice_reason: str = _reason("brand voice")

    def reasons(self) -> dict[str, str]:
        return {dimension: getattr(self, f"{dimension}_reason").strip() for dimension in DIMENSIONS}


def judgement_schema() -> dict[str, Any]:
    """The JSON schema sent as structured output (flat: no ``$ref`` for providers to resolve)."""
    return JudgementOutput.model_json_schema(mode="validation")


@dataclass(frozen=True)
class Transcript:
    row_id: uuid.UUID
    conversation_id: str
    tier: str
    persona: str
    topic: str
    turns: list[tuple[str, str]]

    def render(self) -> str:
        lines = [
            f"CONVERSATION {self.conversation_id} ({self.tier}); client: {self.persona}; topic: {self.topic}",
            "",
        ]
        for number, (client, consultant) in enumerate(self.turns, start=1):
            lines += [f"Turn {number}", f"Client: {client}", f"Consultant: {consultant}", ""]
        return "\n".join(lines).rstrip() + "\n"


def build_request(transcript: Transcript) -> GenerationRequest:
    return GenerationRequest(
        conversation_id=transcript.conversation_id,
        static_prefix=RUBRIC,
        conversation_part=transcript.render(),
        schema=judgement_schema(),
        max_output_tokens=JUDGE_MAX_OUTPUT_TOKENS,
        expected_output_tokens=JUDGE_EXPECTED_OUTPUT_TOKENS,
    )


class JudgeFailed(AppError):
    """The judge's reply for one conversation cannot be used."""

    def __init__(self, conversation_id: str, detail: str) -> None:
        super().__init__("judge_failed", f"The judgement of {conversation_id} failed: {detail}", status=502)


@dataclass(frozen=True)
class Verdict:
    output: JudgementOutput
    model: str
    usage: Usage


async def judge_transcript(provider: Provider, transcript: Transcript) -> Verdict:
    """Ask the judge about one conversation; raise :class:`JudgeFailed` or a ``ProviderError``."""
    reply = await provider.generate(build_request(transcript))
    ident = transcript.conversation_id
    if reply.truncated:
        raise JudgeFailed(ident, f"the reply was cut off at {JUDGE_MAX_OUTPUT_TOKENS} output tokens")
    if reply.data is None:
        raise JudgeFailed(ident, reply.parse_error or "the reply held no JSON object")
    try:
        output = JudgementOutput.model_validate(reply.data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "reply"
        raise JudgeFailed(ident, f"{where}: {first['msg']} ({len(exc.errors())} problem(s))") from exc
    return Verdict(output=output, model=reply.model or provider.model, usage=reply.usage)


def load_transcripts(*, session: Session, conversation_ids: Sequence[str] | None) -> list[Transcript]:
    """The conversations to judge (with turns), in number order; all of them when ``conversation_ids`` is None."""
    C, T = TrainingConversation, TrainingTurn
    stmt = (
        select(C.id, C.conversation_id, C.tier, C.persona_name, C.persona_type, C.topic_category)
        .where(select(T.id).where(T.conversation_id == C.id).exists())
        .order_by(C.conversation_number)
    )
    if conversation_ids is not None:
        stmt = stmt.where(C.conversation_id.in_(conversation_ids))
    heads = session.execute(stmt).all()
    if conversation_ids is not None:
        found = {head.conversation_id for head in heads}
        missing = [ident for ident in conversation_ids if ident not in found]
        if missing:
            raise NotFoundError("Conversation with turns", ", ".join(repr(m) for m in missing[:5]))
    turns: dict[uuid.UUID, list[tuple[str, str]]] = {head.id: [] for head in heads}
    for conversation, user_input, response in session.execute(
        select(T.conversation_id, T.user_input, T.target_response)
        .where(T.conversation_id.in_(list(turns)))
        .order_by(T.conversation_id, T.turn_number)
    ):
        turns[conversation].append((user_input, response))
    return [
        Transcript(
            row_id=head.id,
            conversation_id=head.conversation_id,
            tier=head.tier,
            persona=f"{head.persona_name} ({head.persona_type})",
            topic=head.topic_category,
            turns=turns[head.id],
        )
        for head in heads
    ]


async def _judge_all(settings: Settings, transcripts: Sequence[Transcript]) -> list[Verdict | str]:
    provider = provider_from_settings(settings)
    slots = asyncio.Semaphore(JUDGE_CONCURRENCY)

    async def one(transcript: Transcript) -> Verdict | str:
        async with slots:
            try:
                return await judge_transcript(provider, transcript)
            except JudgeFailed as exc:
                return exc.message
            except ProviderError as exc:
                return f"the provider failed: {exc.message}"

    try:
        return await asyncio.gather(*(one(transcript) for transcript in transcripts))
    finally:
        await provider.aclose()


def _read(row: QualityJudgement, conversation_id: str) -> JudgementRead:
    return JudgementRead(
        id=row.id,
        conversation_id=conversation_id,
        model=row.model,
        rubric_version=row.rubric_version,
        empathy_score=row.empathy_score,
        clarity_score=row.clarity_score,
        appropriateness_score=row.appropriateness_score,
        brand_voice_score=row.brand_voice_score,
        reasons=row.reasons,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def judge_conversations(
    *, session: Session, settings: Settings, conversation_ids: Sequence[str] | None, user: str
) -> JudgeReport:
    """Judge these conversations (all with turns when None) and store each usable judgement.

    Raises ``GenerationUnavailable`` (503) when no LLM is configured. Must not be called from a running
    event loop: the calls run in their own (``asyncio.run``), while the session stays in this thread.
    """
    transcripts = load_transcripts(session=session, conversation_ids=conversation_ids)
    outcomes = asyncio.run(_judge_all(settings, transcripts)) if transcripts else []
    judged: list[JudgementRead] = []
    failed: list[JudgeFailure] = []
    for transcript, outcome in zip(transcripts, outcomes, strict=True):
        if isinstance(outcome, str):
            failed.append(JudgeFailure(conversation_id=transcript.conversation_id, error=outcome))
            continue
        output = outcome.output
        row = session.execute(
            insert(QualityJudgement)
            .values(
                conversation_id=transcript.row_id,
                model=outcome.model,
                rubric_version=RUBRIC_VERSION,
                empathy_score=output.empathy,
                clarity_score=output.clarity,
                appropriateness_score=output.appropriateness,
                brand_voice_score=output.brand_voice,
                reasons=output.reasons(),
                input_tokens=outcome.usage.input_tokens + outcome.usage.cache_read_tokens,
                output_tokens=outcome.usage.output_tokens,
                created_by=user,
            )
            .returning(QualityJudgement)
        ).scalar_one()
        judged.append(_read(row, transcript.conversation_id))
    session.flush()
    return JudgeReport(rubric_version=RUBRIC_VERSION, judged=judged, failed=failed)


def list_judgements(*, session: Session, conversation: str | None = None, limit: int = 100) -> list[JudgementRead]:
    """Stored judgements, newest first (of one conversation, by conversation_id, when given)."""
    C, J = TrainingConversation, QualityJudgement
    stmt = select(J, C.conversation_id).join(C, C.id == J.conversation_id).order_by(J.created_at.desc()).limit(limit)
    if conversation is not None:
        if session.execute(select(C.id).where(C.conversation_id == conversation)).scalar_one_or_none() is None:
            raise NotFoundError("Conversation", repr(conversation))
        stmt = stmt.where(C.conversation_id == conversation)
    return [_read(row, ident) for row, ident in session.execute(stmt).all()]
