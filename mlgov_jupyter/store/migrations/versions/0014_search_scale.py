"""search_scale: what keeps catalog search fast at 100k-1M assets.

- ix_assets_updated_at: the sidebar's open (no words: the newest listed assets first) reads the
  index backwards instead of sorting the catalog. Not (listed, updated_at): without statistics
  (the default store never runs ANALYZE) SQLite takes ``listed = 1`` on such an index for a
  selective test and drives a word search from it, running the full-text match once per asset.
- search_generation: one row whose value changes in the transaction of every change to assets
  (insert, update, delete, by any code path: triggers). Search caches totals, facets and page
  order per query under this value, so a cached answer is never one the store no longer gives.
  PostgreSQL bumps it once per transaction at commit (a deferred constraint trigger), so the
  row lock is the last one a writer takes and cannot deadlock with the audit head's.

Revision ID: 0014
Revises: 0013

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_PG_FUNCTION = """
CREATE FUNCTION mlgov_bump_search_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('mlgov.search_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE search_generation SET value = value + 1 WHERE id = 1;
        PERFORM set_config('mlgov.search_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_index('ix_assets_updated_at', 'assets', ['updated_at'], unique=False)
    op.create_table(
        'search_generation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO search_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute("CREATE CONSTRAINT TRIGGER assets_search_generation AFTER INSERT OR UPDATE OR DELETE "
                   "ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION mlgov_bump_search_generation()")
    else:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER assets_search_generation_{event.lower()} AFTER {event} ON assets "
                       f"BEGIN UPDATE search_generation SET value = value + 1 WHERE id = 1; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER assets_search_generation ON assets")
        op.execute("DROP FUNCTION mlgov_bump_search_generation()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER assets_search_generation_{event}")
    op.drop_table('search_generation')
    op.drop_index('ix_assets_updated_at', table_name='assets')
