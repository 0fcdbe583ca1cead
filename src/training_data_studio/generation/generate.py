"""Generate one conversation: one call, at most ``max_repairs`` repair round trips, then a loud failure.

This is the one place a generation reply is judged (house style habit 9): the output model is
:class:`ConversationBlock`, the post-checks are :func:`.checks.check_reply`. Every attempt's reply is kept,
failed ones included, so a reviewer can see what the model wrote and what it cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..conversations.document import ConversationBlock
from ..core.errors import AppError
from ..llm.base import Provider, ProviderError, ProviderReply, Repair, Usage
from ..llm.pricing import Cost, cost_cents
from ..plan.service import PlanRow
from .checks import Problem, check_reply, render_problems
from .prompts import BuiltPrompt

# One repair round trip fixes most slips (a miscounted sentence, a cut-off turn); when a second reply is
# still wrong, the prompt or the model is the problem and a person should look.
DEFAULT_MAX_REPAIRS = 1
# A reply cut off at the output limit cannot be continued in one call: the repair asks for the whole
# conversation again, without paying to send the partial output back.
TRUNCATED_OUTPUT_NOTE = "(The previous output was cut off at the output limit before the conversation was complete.)"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call: ``number`` 1 is the first call, 2.. are repair round trips."""

    number: int
    reply: ProviderReply
    problems: list[Problem]


def _usage(attempts: list[Attempt]) -> Usage:
    total = Usage()
    for attempt in attempts:
        total = total + attempt.reply.usage
    return total


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    conversation: ConversationBlock
    attempts: list[Attempt]
    usage: Usage
    duration_seconds: float
    model: str

    @property
    def repaired(self) -> bool:
        return len(self.attempts) > 1

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


async def generate_conversation(
    provider: Provider,
    prompt: BuiltPrompt,
    plan_row: PlanRow,
    *,
    max_repairs: int = DEFAULT_MAX_REPAIRS,
    clock: Callable[[], float] = time.monotonic,
) -> GenerationOutcome:
    """Generate the conversation ``plan_row`` plans, from ``prompt``.

    Raises :class:`InvalidOutput` when the reply still has problems after ``max_repairs`` repair round
    trips, and :class:`ProviderFailed` when a call raises a :class:`ProviderError`; both keep every
    attempt's reply.
    """
    started = clock()
    request = prompt.request()
    attempts: list[Attempt] = []
    problems: list[Problem] = []
    for number in range(1, max_repairs + 2):
        try:
            reply = await provider.generate(request)
        except ProviderError as exc:
            raise ProviderFailed(
                prompt.conversation_id,
                exc,
                attempts=attempts,
                duration_seconds=clock() - started,
                model=provider.model,
            ) from exc
        conversation, problems = check_reply(reply, plan_row)
        attempts.append(Attempt(number=number, reply=reply, problems=problems))
        if conversation is not None:
            return GenerationOutcome(
                conversation=conversation,
                attempts=attempts,
                usage=_usage(attempts),
                duration_seconds=clock() - started,
                model=reply.model or provider.model,
            )
        previous = TRUNCATED_OUTPUT_NOTE if reply.truncated else reply.output_text
        request = request.with_repair(Repair(previous_output=previous, problems=render_problems(problems)))
    raise InvalidOutput(
        prompt.conversation_id,
        problems,
        attempts=attempts,
        duration_seconds=clock() - started,
        model=attempts[-1].reply.model or provider.model,
    )
