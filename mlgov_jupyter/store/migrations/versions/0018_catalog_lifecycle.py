"""catalog_lifecycle: deprecated and unpublished assets, model cards in search.

- assets: deprecated_at/by, deprecation_reason, replacement; unpublished_at/by, unpublish_reason
  (plain ADD COLUMN: no table rebuild, so 0014's search-generation triggers on assets stay).
- model_cards.search_text: the latest version's searchable text (core/card_search.py); on
  PostgreSQL a GIN index on its english tsvector, on SQLite an FTS5 table card_fts (rowid =
  model_cards.id, porter stemming like asset_fts). Existing cards are indexed here.
- search_generation also moves with every change to model_cards (its row changes with every
  new version and transition), so a cached search answer never misses a card change.

Revision ID: 0018
Revises: 0014

"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ASSET_COLUMNS = (
    sa.Column('deprecated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deprecated_by', sa.String(length=128), nullable=True),
    sa.Column('deprecation_reason', sa.Text(), nullable=True),
    sa.Column('replacement', sa.String(length=128), nullable=True),
    sa.Column('unpublished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unpublished_by', sa.String(length=128), nullable=True),
    sa.Column('unpublish_reason', sa.Text(), nullable=True),
)


def upgrade() -> None:
    from mlgov_jupyter.core.card_search import card_search_fields, card_search_text

    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    for column in ASSET_COLUMNS:
        op.add_column('assets', column.copy())
    op.add_column('model_cards', sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    if pg:
        op.execute("CREATE INDEX ix_model_cards_search ON model_cards USING GIN "
                   "(to_tsvector('english', search_text))")
        op.execute("CREATE CONSTRAINT TRIGGER model_cards_search_generation AFTER INSERT OR UPDATE OR DELETE "
                   "ON model_cards DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION mlgov_bump_search_generation()")
    else:
        op.execute("CREATE VIRTUAL TABLE card_fts USING fts5("
                   "name, model, description, uses, risk, other, tokenize='porter unicode61')")
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER model_cards_search_generation_{event.lower()} AFTER {event} "
                       f"ON model_cards BEGIN UPDATE search_generation SET value = value + 1 WHERE id = 1; END")
    rows = bind.execute(sa.text(
        "SELECT c.id, c.name, a.name, v.content FROM model_cards c JOIN assets a ON a.id = c.model_asset_id "
        "JOIN model_card_versions v ON v.card_id = c.id AND v.version = c.latest_version")).all()
    for card_id, name, model, content in rows:
        content = json.loads(content) if isinstance(content, str) else (content or {})
        bind.execute(sa.text("UPDATE model_cards SET search_text = :t WHERE id = :id"),
                     {"t": card_search_text(name, model, content), "id": card_id})
        if not pg:
            bind.execute(sa.text("INSERT INTO card_fts (rowid, name, model, description, uses, risk, other) "
                                 "VALUES (:id, :name, :model, :description, :uses, :risk, :other)"),
                         {"id": card_id, **card_search_fields(name, model, content)})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER model_cards_search_generation ON model_cards")
        op.execute("DROP INDEX ix_model_cards_search")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER model_cards_search_generation_{event}")
        op.execute("DROP TABLE card_fts")
    with op.batch_alter_table('model_cards') as batch_op:
        batch_op.drop_column('search_text')
    with op.batch_alter_table('assets') as batch_op:
        for column in ASSET_COLUMNS:
            batch_op.drop_column(column.name)
