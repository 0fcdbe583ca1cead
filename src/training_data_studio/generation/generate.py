"""Generate one conversation turn by turn: one call per turn, at most ``max_repairs`` repair round trips per
turn, then a loud failure.

One call per turn keeps every call inside a low-tier account's output-token limit (charged from max_tokens
when the call starts), and a repair asks for the failing turn only, never the whole conversation again.
Each turn's call sees the static prefix (read from the prompt cache) and the conversation so far; its
history, ids and turn number are the Studio's (:func:`.checks.check_turn`), so only what the model wrote
can fail. This is the one place a generation reply is judged (house style habit 9). Every attempt's reply
is kept, failed ones included, so a reviewer can see what the model wrote and what it cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..conversations.document import ConversationBlock, ConversationBlockMetadata, TrainingPair
from ..core.errors import AppError
from ..llm.base import Provider, ProviderError, ProviderReply, Repair, Usage
from ..llm.pricing import Cost, cost_cents
from ..plan.service import PlanRow
from .checks import Problem, check_turn, render_problems
from .normalise import Normalisation
from .prompts import BuiltPrompt

# One repair round trip fixes most slips (a miscounted sentence, a cut-off turn); when a second reply is
# still wrong, the prompt or the model is the problem and a person should look.
DEFAULT_MAX_REPAIRS = 1
# A reply cut off at the output limit cannot be continued in one call: the repair asks for the whole
# conversation again, without paying to send the partial output back.
TRUNCATED_OUTPUT_NOTE = "(The previous output was cut off at the output limit before the conversation was complete.)"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call, numbered 1.. over the whole conversation. ``repair`` is True for a repair round trip;
    ``part`` is what it wrote ("turn 2 of 4", or "conversation" for a whole-conversation call); ``problems``
    are its failures, ``warnings`` what did not fail it, ``normalisations`` what was fixed locally."""

    number: int
    reply: ProviderReply
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)
    normalisations: list[Normalisation] = field(default_factory=list)
    part: str = "conversation"
    repair: bool = False
    accepted: bool = False


def _usage(attempts: list[Attempt]) -> Usage:
    total = Usage()
    for attempt in attempts:
        total = total + attempt.reply.usage
    return total


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    """``conversation`` is the whole conversation; its first ``stored_turns`` exchanges were stored before
    (a completion) and were not written by these attempts."""

    conversation: ConversationBlock
    attempts: list[Attempt]
    usage: Usage
    duration_seconds: float
    model: str
    stored_turns: int = 0

    @property
    def new_pairs(self) -> list[TrainingPair]:
        return list(self.conversation.training_pairs[self.stored_turns :])

    @property
    def repaired(self) -> bool:
        return any(attempt.repair for attempt in self.attempts)

    @property
    def warnings(self) -> list[Problem]:
        """The warnings of the accepted replies: what review should look at."""
        return [warning for attempt in self.attempts if attempt.accepted for warning in attempt.warnings]

    @property
    def raw_replies(self) -> list[str]:
        return [attempt.reply.raw_response for attempt in self.attempts]

    def cost(self, *, batch: bool = False) -> Cost:
        return cost_cents(self.model, self.usage, batch=batch)


class GenerationFailed(AppError):
    """No usable conversation. ``attempts`` keeps every reply that did come back, and what they cost."""

    def __init__(
        self, code: str, message: str, *, attempts: list[Attempt], duration_seconds: float, model: str
    ) -> None:
        super().__init__(code, message, status=502)
        self.attempts = attempts
        self.duration_seconds = duration_seconds
        self.model = model

    @property
    def usage(self) -> Usage:
        return _usage(self.attempts)

    @property
    def raw_replies(self) -> list[str]:
        return [attempt.reply.raw_response for attempt in self.attempts]


class InvalidOutput(GenerationFailed):
    """The model's output still failed the checks after the repair round trip(s)."""

    def __init__(
        self,
        conversation_id: str,
        problems: list[Problem],
        *,
        attempts: list[Attempt],
        duration_seconds: float,
        model: str,
    ) -> None:
        first = problems[0].render().removeprefix("- ") if problems else "no details"
        super().__init__(
            "invalid_output",
            f"The model's output for {conversation_id} failed {len(problems)} check(s) after "
            f"{len(attempts)} attempt(s); first: {first}",
            attempts=attempts,
            duration_seconds=duration_seconds,
            model=model,
        )
        self.problems = problems


class ProviderFailed(GenerationFailed):
    """A call raised a provider error (after the pacer's retries, when one is used). See ``cause``."""

    def __init__(
        self,
        conversation_id: str,
        cause: ProviderError,
        *,
        attempts: list[Attempt],
        duration_seconds: float,
        model: str,
    ) -> None:
        super().__init__(
            "provider_failed",
            f"Generating {conversation_id} failed: {cause.message}",
            attempts=attempts,
            duration_seconds=duration_seconds,
            model=model,
        )
        self.cause = cause

    @property
    def retryable(self) -> bool:
        return self.cause.retryable


def history_of(pairs: list[TrainingPair]) -> list[dict[str, Any]]:
    """The conversation history of the turn after ``pairs``: each earlier message, user then assistant."""
    history: list[dict[str, Any]] = []
    for pair in pairs:
        history.append({"turn": pair.turn_number, "role": "user", "content": pair.current_user_input})
        history.append({"turn": pair.turn_number, "role": "assistant", "content": pair.target_response})
    return history


async def generate_conversation(
    provider: Provider,
    prompt: BuiltPrompt,
    plan_row: PlanRow,
    *,
    stored: Sequence[TrainingPair] = (),
    open_message: str | None = None,
    max_repairs: int = DEFAULT_MAX_REPAIRS,
    clock: Callable[[], float] = time.monotonic,
    on_progress: Callable[[str, int], None] | None = None,
) -> GenerationOutcome:
    """Generate the conversation ``plan_row`` plans, from ``prompt``, one call per turn.

    ``stored``: the exchanges the conversation holds already, numbered 1..n (completing an incomplete
    one): they are its history and the calls write turns n+1 to the target; ``open_message`` is the client
    message it ends on, which the first new turn answers.

    ``on_progress`` hears, while each reply streams in, the part being written ("turn 2 of 4") and its
    output tokens so far.

    Raises :class:`InvalidOutput` when a turn still has problems after ``max_repairs`` repair round trips
    (the turns before it are not kept: a conversation is saved whole or not at all), and
    :class:`ProviderFailed` when a call raises a :class:`ProviderError`; both keep every attempt's reply.
    """
    started = clock()
    attempts: list[Attempt] = []
    pairs: list[TrainingPair] = list(stored)
    model = provider.model

    def failed(error: type[InvalidOutput] | type[ProviderFailed], cause: Any) -> GenerationFailed:
        return error(prompt.conversation_id, cause, attempts=attempts, duration_seconds=clock() - started, model=model)

    first_new = len(stored) + 1
    for turn in range(first_new, prompt.turn_count_target + 1):
        given = open_message if turn == first_new else None
        request = prompt.turn_request(turn, pairs, client_message=given)
        problems: list[Problem] = []
        for round_trip in range(max_repairs + 1):
            part = request.part
            progress = None if on_progress is None else (lambda tokens, part=part: on_progress(part, tokens))
            try:
                reply = await provider.generate(request, on_progress=progress)
            except ProviderError as exc:
                raise failed(ProviderFailed, exc) from exc
            model = reply.model or model
            report = check_turn(reply, prompt.conversation_id, turn, history_of(pairs), client_message=given)
            problems = report.failures
            attempts.append(
                Attempt(
                    number=len(attempts) + 1,
                    reply=reply,
                    problems=problems,
                    warnings=report.warnings,
                    normalisations=report.normalisations,
                    part=request.part,
                    repair=round_trip > 0,
                    accepted=report.pair is not None,
                )
            )
            if report.pair is not None:
                pairs.append(report.pair)
                break
            previous = TRUNCATED_OUTPUT_NOTE if reply.truncated else reply.output_text
            request = request.with_repair(Repair(previous_output=previous, problems=render_problems(problems)))
        else:
            raise failed(InvalidOutput, problems)
    conversation = ConversationBlock(
        conversation_metadata=ConversationBlockMetadata(conversation_id=prompt.conversation_id, total_turns=len(pairs)),
        training_pairs=pairs,
    )
    return GenerationOutcome(
        conversation=conversation,
        attempts=attempts,
        usage=_usage(attempts),
        duration_seconds=clock() - started,
        model=model,
        stored_turns=len(stored),
    )
