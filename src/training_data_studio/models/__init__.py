"""SQLAlchemy tables, one module per aggregate. The SQL migrations are the source of truth; a test checks
that these declarations match the migrated database column for column."""

from .base import Base
from .conversation import (
    EmotionalContext,
    QualityMetrics,
    ResponseBreakdown,
    ResponseStrategy,
    TrainingConversation,
    TrainingTurn,
)
from .generation import GenerationAttempt, GenerationJobEvent, GenerationJobItem, ProviderRateState
from .import_run import ImportRun, ImportRunItem
from .job import GenerationJob
from .review import ConversationReview, ConversationRevision, QualityJudgement
from .template import ConversationTemplate, ConversationTemplateVersion
from .training_file import TrainingFile, TrainingFileMember, TrainingFileVersion
from .turn_review import TurnReview

__all__ = [
    "Base",
    "ConversationReview",
    "ConversationRevision",
    "ConversationTemplate",
    "ConversationTemplateVersion",
    "EmotionalContext",
    "GenerationAttempt",
    "GenerationJob",
    "GenerationJobEvent",
    "GenerationJobItem",
    "ImportRun",
    "ImportRunItem",
    "ProviderRateState",
    "QualityJudgement",
    "QualityMetrics",
    "ResponseBreakdown",
    "ResponseStrategy",
    "TrainingConversation",
    "TrainingFile",
    "TrainingFileMember",
    "TrainingFileVersion",
    "TrainingTurn",
    "TurnReview",
]
