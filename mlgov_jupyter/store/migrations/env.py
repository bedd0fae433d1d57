"""Alembic environment: runs on the connection the Store hands over (no ini file)."""

from alembic import context

from mlgov_jupyter.store.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic revision --autogenerate` during development
    from sqlalchemy import create_engine

    connection = create_engine(config.get_main_option("sqlalchemy.url")).connect()

def include_object(obj, name, type_, reflected, compare_to):
    # the SQLite full-text index is ours but not an ORM table
    return not (type_ == "table" and name.startswith(("asset_fts", "card_fts")))


context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
