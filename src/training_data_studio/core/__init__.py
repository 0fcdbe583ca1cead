"""Infrastructure every feature uses: settings, database, migrations, errors, auth, templating."""
