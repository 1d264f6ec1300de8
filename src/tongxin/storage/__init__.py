"""Storage: SQLAlchemy models, migrations and repositories. Helpers never commit."""
