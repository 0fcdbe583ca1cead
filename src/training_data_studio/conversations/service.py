"""The conversation list (the Matrix), one conversation's detail, and review-status changes.

Every query is parameterised and selects explicit columns for lists; the detail loads its turns and
annotations with `selectinload`, so no relationship is ever loaded lazily.
"""

from __future__ import annotations

import html
import math
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Select,
    String,
    case,
    column,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on, ts_headline, websearch_to_tsquery
from sqlalchemy.orm import Session, selectinload

from ..core.errors import ConflictError, NotFoundError
from ..models import ConversationReview, ConversationTemplate, QualityMetrics, TrainingConversation, TrainingTurn
from .emotions import emotion_key_sql
from .readiness import is_ready_for_training
from .schemas import (
    GENERATED_STATUSES,
    PERSONAS,
    STATUS_LABELS,
    STATUSES,
    TIER_LABELS,
    TIERS,
    TO_GENERATE_STATUSES,
    ConversationDetail,
    ConversationFilters,
    ConversationPage,
    ConversationRow,
    DatasetCounts,
    FilterOption,
    FilterOptions,
    StatusChange,
    StatusRead,
)

C = TrainingConversation
T = TrainingTurn

# Columns of a Matrix row, selected explicitly (no ORM entity, so nothing can load lazily).
ROW_COLUMNS = (
    C.id,
    C.conversation_id,
    C.conversation_number,
    C.persona_type,
    C.persona_name,
    C.topic_category,
    C.topic_description,
    C.tier,
    C.tier_template,
    C.starting_emotion,
    C.starting_emotion_intensity,
    C.ending_emotion,
    C.ending_emotion_intensity,
    C.emotional_arc_description,
    C.session_context,
    C.turn_count,
    C.turn_count_target,
    C.generation_status,
    C.quality_score,
    C.is_seed_example,
    C.human_reviewed,
)

# ts_headline marks matches with these private-use characters; the text is then HTML-escaped and only the
# marker pairs become <mark> tags, so a snippet can never carry markup from the conversation itself.
MARK_START, MARK_STOP = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=28, MinWords=10, ShortWord=3, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_MARKED = re.compile(f"{MARK_START}(.*?){MARK_STOP}", re.DOTALL)
TS_CONFIG = "english"

# A conversation_id is at most 100 characters of [A-Za-z0-9_.-] (see document.py); anything else cannot exist.
_IDENT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_STATUS_ORDER = {status: position for position, status in enumerate(STATUSES)}


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    """A substring pattern for ILIKE with the user's `\\`, `%` and `_` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: ConversationFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for attribute, values in (
        (C.persona_type, filters.persona),
        (C.tier, filters.tier),
        (C.generation_status, filters.status),
        (C.tier_template, filters.template),
    ):
        if values:
            conditions.append(attribute.in_(values))
    for emotion, keys in ((C.starting_emotion, filters.starting_emotion), (C.ending_emotion, filters.ending_emotion)):
        if keys:
            # The key on both sides: the database's own folding decides, whatever the value's letters.
            conditions.append(emotion_key_sql(emotion).in_([emotion_key_sql(literal(k)) for k in keys]))
    if filters.topic:
        pattern = _like_pattern(filters.topic)
        conditions.append(
            C.topic_category.ilike(pattern, escape="\\") | C.topic_description.ilike(pattern, escape="\\")
        )
    if filters.quality_min is not None:
        conditions.append(C.quality_score >= filters.quality_min)
    if filters.quality_max is not None:
        conditions.append(C.quality_score <= filters.quality_max)
    if filters.is_seed is not None:
        conditions.append(C.is_seed_example.is_(filters.is_seed))
    return conditions


def _best_turns(q: str) -> Any:
    """Per conversation, its best-ranked turn matching `q` (one row per conversation)."""
    query = websearch_to_tsquery(TS_CONFIG, q)
    rank = func.ts_rank(T.content_tsv, query)
    return (
        select(T.conversation_id.label("conversation_uuid"), T.id.label("turn_uuid"), rank.label("rank"))
        .where(T.content_tsv.op("@@")(query))
        .ext(distinct_on(T.conversation_id))
        .order_by(T.conversation_id, rank.desc(), T.turn_number)
        .subquery("best_turn")
    )


def _order_by(filters: ConversationFilters, rank: Any | None) -> list[Any]:
    """The requested order, then conversation number ascending so that ties (and pages) are stable."""
    descending = filters.order == "desc"
    sort = filters.effective_sort
    tiebreak = C.conversation_number.asc()
    if sort == "relevance" and rank is not None:
        # Best match first; "asc" would bury the best hits, so only an explicit "desc" flips it.
        return [rank.asc() if descending else rank.desc(), tiebreak]
    if sort == "persona":
        return [C.persona_type.desc() if descending else C.persona_type.asc(), tiebreak]
    if sort == "topic":
        return [C.topic_category.desc() if descending else C.topic_category.asc(), tiebreak]
    if sort == "tier":
        # tier1_template < tier2_scenario < tier3_edge: the column's own order is the tiers' order.
        return [C.tier.desc() if descending else C.tier.asc(), tiebreak]
    if sort == "turns":
        return [C.turn_count.desc() if descending else C.turn_count.asc(), tiebreak]
    if sort == "arc":
        start, end = emotion_key_sql(C.starting_emotion), emotion_key_sql(C.ending_emotion)
        if descending:
            return [start.desc().nulls_last(), end.desc().nulls_last(), tiebreak]
        return [start.asc().nulls_last(), end.asc().nulls_last(), tiebreak]
    if sort == "status":
        position = case(_STATUS_ORDER, value=C.generation_status, else_=len(STATUSES))
        return [position.desc() if descending else position.asc(), tiebreak]
    if sort == "quality":
        quality = C.quality_score.desc() if descending else C.quality_score.asc()
        return [quality.nulls_last(), tiebreak]
    return [C.conversation_number.desc() if descending else tiebreak]


def _snippet_html(headline: str | None) -> str | None:
    if not headline:
        return None
    escaped = html.escape(headline, quote=False)
    marked = _MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped)
    return marked.replace(MARK_START, "").replace(MARK_STOP, "")


# Kept per (tier, persona, status, seed) group by triggers on training_conversations (migration
# 20261125151000_matrix_indexes.sql), so the summary costs the same at 100 rows or 100,000.
conversation_counts = table(
    "conversation_counts",
    column("tier", String),
    column("persona_type", String),
    column("generation_status", String),
    column("is_seed_example", Boolean),
    column("conversations", BigInteger),
)


def dataset_counts(*, session: Session) -> DatasetCounts:
    """Totals and distributions over the whole table, summed from the trigger-maintained group counts."""
    cc = conversation_counts.c
    rows = session.execute(
        select(cc.tier, cc.persona_type, cc.generation_status, cc.is_seed_example, cc.conversations).where(
            cc.conversations != 0
        )
    ).all()
    by_tier: dict[str, int] = dict.fromkeys(TIERS, 0)
    by_persona: dict[str, int] = dict.fromkeys(PERSONAS, 0)
    total = seed = generated = remaining = failed = seed_slots = 0
    for tier, persona, status, is_seed, n in rows:
        by_tier[tier] = by_tier.get(tier, 0) + n
        by_persona[persona] = by_persona.get(persona, 0) + n
        total += n
        seed += n if is_seed else 0
        # Seeds are imported, not generated: they count as seeds only, whatever their status.
        generated += n if status in GENERATED_STATUSES and not is_seed else 0
        remaining += n if status in TO_GENERATE_STATUSES and not is_seed else 0
        failed += n if status == "failed" and not is_seed else 0
        seed_slots += n if status == "planned" and is_seed else 0
    return DatasetCounts(
        total=total,
        seed=seed,
        generated=generated,
        remaining=remaining,
        failed=failed,
        seed_slots=seed_slots,
        by_tier=by_tier,
        by_persona=dict(sorted(by_persona.items(), key=lambda item: -item[1])),
    )


def list_conversations(*, session: Session, filters: ConversationFilters) -> ConversationPage:
    """One page of conversations matching every filter (AND), sorted, with the filtered and overall counts."""
    conditions = _conditions(filters)
    q = filters.q
    best = _best_turns(q) if q else None
    rank = best.c.rank if best is not None else None

    def filtered(stmt: Select[Any]) -> Select[Any]:
        if best is not None:
            stmt = stmt.join(best, best.c.conversation_uuid == C.id)
        return stmt.where(*conditions)

    offset = (filters.page - 1) * filters.page_size
    columns: list[Any] = [*ROW_COLUMNS]
    if best is not None:
        columns += [best.c.rank, best.c.turn_uuid]
    page_stmt = filtered(select(*columns)).order_by(*_order_by(filters, rank)).limit(filters.page_size).offset(offset)

    if q and best is not None:
        # The headline is costly: compute it for this page's rows only, after sorting and paging.
        page_rows = page_stmt.add_columns(
            func.row_number().over(order_by=_order_by(filters, rank)).label("position")
        ).subquery("page_rows")
        headline = ts_headline(
            TS_CONFIG,
            func.coalesce(T.user_input, "") + " " + func.coalesce(T.target_response, ""),
            websearch_to_tsquery(TS_CONFIG, q),
            HEADLINE_OPTIONS,
        )
        stmt: Select[Any] = (
            select(page_rows, headline.label("headline"))
            .outerjoin(T, T.id == page_rows.c.turn_uuid)
            .order_by(page_rows.c.position)
        )
        result = session.execute(stmt).mappings().all()
        items = [
            ConversationRow.model_validate(dict(r) | {"snippet_html": _snippet_html(r["headline"])}) for r in result
        ]
    else:
        items = [ConversationRow.model_validate(r) for r in session.execute(page_stmt).mappings().all()]

    counts = dataset_counts(session=session)
    if filters.is_filtered:
        filtered_total = session.execute(filtered(select(func.count()).select_from(C))).scalar_one()
    else:
        filtered_total = counts.total
    return ConversationPage(
        items=items,
        total=counts.total,
        filtered_total=filtered_total,
        page=filters.page,
        page_size=filters.page_size,
        pages=max(1, math.ceil(filtered_total / filters.page_size)),
        sort=filters.effective_sort,
        order=filters.order,
        counts=counts,
    )


def _humanise(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _emotion_options(session: Session, emotion: Any) -> list[FilterOption]:
    """One option per emotion key, labelled with its most frequent spelling, with how many rows have it."""
    key = emotion_key_sql(emotion)
    rows = session.execute(
        select(key.label("key"), func.mode().within_group(emotion).label("label"), func.count().label("n"))
        .where(emotion.is_not(None), key != "")
        .group_by(key)
        .order_by(key)
    ).all()
    return [FilterOption(value=k, label=label.strip(), count=n) for k, label, n in rows]


def filter_options(*, session: Session) -> FilterOptions:
    """The choices for the Matrix's filter dropdowns: fixed vocabularies plus the values present in the table."""
    starting, ending = _emotion_options(session, C.starting_emotion), _emotion_options(session, C.ending_emotion)
    templates = session.execute(
        select(C.tier, C.tier_template, ConversationTemplate.template_name)
        .outerjoin(ConversationTemplate, ConversationTemplate.template_id == C.tier_template)
        .where(C.tier_template.is_not(None))
        .distinct()
        .order_by(C.tier, C.tier_template)
    ).all()
    # Tier 1 rows name their template (labelled from conversation_templates); tier 2 and 3 rows a category.
    template_choices = [
        (tier, name or f"{_humanise(key)} ({TIER_LABELS.get(tier, tier).split(' · ')[0]})", key)
        for tier, key, name in templates
        if key is not None
    ]
    return FilterOptions(
        personas=[FilterOption(value=p, label=p) for p in PERSONAS],
        tiers=[FilterOption(value=t, label=TIER_LABELS[t]) for t in TIERS],
        statuses=[FilterOption(value=s, label=STATUS_LABELS[s]) for s in STATUSES],
        starting_emotions=starting,
        ending_emotions=ending,
        templates=[FilterOption(value=key, label=label) for _, label, key in sorted(template_choices)],
    )


# --------------------------------------------------------------------------------------------------
# The detail
# --------------------------------------------------------------------------------------------------


def _identity_condition(ident: str) -> ColumnElement[bool]:
    """Match a conversation by its row uuid, its conversation_id or the id its source file gave it (as the
    export finds it); anything else matches nothing (a 404). The user's later files key conversations by
    UUIDs, so a UUID may be any of the three."""
    text = ident.strip()
    if not _IDENT_RE.match(text):
        raise NotFoundError("Conversation", _shown(ident))
    by_name = or_(C.conversation_id == text, C.source_conversation_id == text)
    try:
        return or_(C.id == uuid.UUID(text), by_name)
    except ValueError:
        return by_name


def _shown(ident: str) -> str:
    return repr(ident[:60] + ("…" if len(ident) > 60 else ""))


def _neighbour(session: Session, number: int, *, after: bool) -> str | None:
    stmt = select(C.conversation_id)
    if after:
        stmt = stmt.where(C.conversation_number > number).order_by(C.conversation_number.asc())
    else:
        stmt = stmt.where(C.conversation_number < number).order_by(C.conversation_number.desc())
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def get_conversation_detail(*, session: Session, ident: str) -> ConversationDetail:
    """A conversation with its turns, annotations and metrics, by uuid or conversation_id; 404 if absent."""
    condition = _identity_condition(ident)
    conversation = session.execute(
        select(C)
        .where(condition)
        .options(
            selectinload(C.turns).selectinload(T.emotional_context),
            selectinload(C.turns).selectinload(T.response_strategy),
            selectinload(C.turns).selectinload(T.sentences),
            selectinload(C.quality_metrics),
        )
    ).scalar_one_or_none()
    if conversation is None:
        raise NotFoundError("Conversation", _shown(ident))
    detail = ConversationDetail.model_validate(conversation)
    detail.previous_id = _neighbour(session, conversation.conversation_number, after=False)
    detail.next_id = _neighbour(session, conversation.conversation_number, after=True)
    return detail


# --------------------------------------------------------------------------------------------------
# Review status
# --------------------------------------------------------------------------------------------------

# Which current statuses each review decision may follow. Planned, in-progress and failed conversations have
# nothing to review yet; going back to "generated" undoes a review.
ALLOWED_FROM: dict[str, Sequence[str]] = {
    "reviewed": GENERATED_STATUSES,
    "approved": GENERATED_STATUSES,
    "flagged": GENERATED_STATUSES,
    "generated": ("reviewed", "approved", "flagged"),
}


def change_status(
    *, session: Session, ident: str, change: StatusChange, user: str, source: str = "review"
) -> StatusRead:
    """Record a reviewer's decision (and its audit row); 409 when the conversation's state does not allow it.

    ``source`` names what made the change in the audit trail: a single review or a bulk action.
    """
    condition = _identity_condition(ident)
    current = session.execute(
        select(C.id, C.conversation_id, C.generation_status, C.is_seed_example).where(condition).with_for_update()
    ).one_or_none()
    if current is None:
        raise NotFoundError("Conversation", _shown(ident))
    turns = session.execute(select(func.count()).select_from(T).where(T.conversation_id == current.id)).scalar_one()
    target = change.status
    if turns == 0:
        raise ConflictError(
            f"Conversation {current.conversation_id} has no turns yet (status {current.generation_status}): "
            f"there is nothing to mark {target}."
        )
    if current.generation_status != target and current.generation_status not in ALLOWED_FROM[target]:
        raise ConflictError(
            f"Conversation {current.conversation_id} is {current.generation_status}: it cannot be marked {target}."
        )
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "generation_status": target,
        "human_reviewed": target != "generated",
        "reviewed_by": user,
        "review_date": now,
        "updated_by": user,
    }
    if change.reviewer_notes is not None:
        values["reviewer_notes"] = change.reviewer_notes or None
    row = session.execute(
        update(C)
        .where(C.id == current.id)
        .values(**values)
        .returning(
            C.conversation_id, C.generation_status, C.human_reviewed, C.reviewed_by, C.review_date, C.reviewer_notes
        )
    ).one()
    # Readiness follows the status (quality/checks: complete annotation, and approved or a seed, not flagged).
    may_train = is_ready_for_training(complete=True, status=target, is_seed=current.is_seed_example)
    complete = QualityMetrics.all_required_fields_complete
    session.execute(
        update(QualityMetrics)
        .where(QualityMetrics.conversation_id == current.id)
        .values(
            reviewer_approved=target == "approved",
            review_date=now,
            ready_for_training=complete if may_train else False,
            needs_review=not_(complete) if may_train else True,
        )
    )
    session.execute(
        insert(ConversationReview).values(
            conversation_id=current.id,
            from_status=current.generation_status,
            to_status=target,
            notes=change.reviewer_notes or None,
            reviewer=user,
            source=source,
        )
    )
    session.flush()
    return StatusRead.model_validate(row._mapping)
