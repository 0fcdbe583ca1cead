"""The consultant every conversation of this dataset is with: one name for the prompts, the templates, the
judge's rubric and the exports."""

from __future__ import annotations

CONSULTANT_NAME = "Elena Morales, CFP"
