from __future__ import annotations

import pytest
from sqlalchemy import update

from training_data_studio.core.db import Database
from training_data_studio.models import TrainingConversation
from training_data_studio.plan.seed import seed_default_data


@pytest.fixture
def seeded(database: Database) -> Database:
    """The shipped plan, templates and samples; the ten plan seeds count as done (they are not imported here),
    so the sample seeds are the examples and conversations 11-100 are planned."""
    with database.session_scope() as s:
        seed_default_data(s, user="dana")
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_number <= 10)
            .values(generation_status="approved")
        )
    return database
