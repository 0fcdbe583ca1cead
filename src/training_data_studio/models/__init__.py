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
from .job import GenerationJob
from .template import ConversationTemplate

__all__ = [
    "Base",
    "ConversationTemplate",
    "EmotionalContext",
    "GenerationJob",
    "QualityMetrics",
    "ResponseBreakdown",
    "ResponseStrategy",
    "TrainingConversation",
    "TrainingTurn",
]
