"""search_tally_columns: on PostgreSQL the search-count trigger (0019) fires on updates of the
columns it counts only (listed, deprecated_at, kind, project_id, owner, classification, tags),
as SQLite's does. It fired on every update of an asset: each publish's search_text update, each
new revision's latest_revision and updated_at took a -1/+1 tally of every facet of the asset at
commit for nothing (EXPLAIN ANALYZE at 1M assets: 0.14 ms of the 0.35 ms update, and a lock
on the catalog-wide count row). SQLite: nothing to do.

Revision ID: 0022
Revises: 0021
Depends on: 0019 (its trigger)

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = '0019'

COUNTED = "listed, deprecated_at, kind, project_id, owner, classification, tags"


def _tally_trigger(events: str) -> str:
    # "assets_search_tally" sorts after "assets_search_generation": fired after it at commit (0019)
    return (f"CREATE CONSTRAINT TRIGGER assets_search_tally AFTER {events} ON assets "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mlgov_search_facet_counts()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER assets_search_tally ON assets")
        op.execute(_tally_trigger(f"INSERT OR UPDATE OF {COUNTED} OR DELETE"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER assets_search_tally ON assets")
        op.execute(_tally_trigger("INSERT OR UPDATE OR DELETE"))
