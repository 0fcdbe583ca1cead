"""Quality: checks, duplicates, the dashboard."""
