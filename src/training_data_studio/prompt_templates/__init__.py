"""The template manager: generation prompt templates with versions, validation and previews."""
