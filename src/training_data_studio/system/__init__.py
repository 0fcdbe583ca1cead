"""The Status page and `tds db verify`: database mode, migrations, table sizes, orphans, workers."""
