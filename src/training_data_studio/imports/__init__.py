"""Seed import: read files in either layout, validate with the document model, map into the tables, record
each run so it can be rolled back."""
