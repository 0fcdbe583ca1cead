"""Shared layout, partials and vendored static assets."""
