"""search_counts: what lets catalog search count afresh in milliseconds at 100k-1M assets.

- asset_tags (tag, asset_id): each listed tag of each asset, kept by triggers on assets (any
  code path). A tag filter reads the assets of that tag from its primary key instead of parsing
  every asset's JSON tag list.
- search_facet_counts (facet, value, deprecated, n): the number of listed assets per facet value
  (facet '' value '': all of them; 'project' values are project ids as text; 'tag' counts each
  element of an asset's tag list), split by deprecated or not, kept by triggers. The sidebar's
  open (no words, no filters) reads its total and facets here instead of counting the catalog.
  On PostgreSQL the trigger is deferred to commit and named after 0014's search-generation
  trigger, so every writer takes the generation row's lock first (serialising these updates:
  no deadlock between writers, none with the audit head).

- PostgreSQL: assets.search_vector, to_tsvector('english', search_text) stored (a generated
  column) under a GIN index, instead of 0007's GIN index on the expression. A search takes its
  newest matches walking the primary key backwards and tests each row's stored vector (~1 us)
  instead of computing it again (~20 us: 42 ms for a word in half of 100k assets, 1 ms stored),
  and ranks with ts_rank over the stored vector.

Depends on 0018 (the triggers read assets.deprecated_at).

Revision ID: 0019
Revises: 0014

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = '0018'

# (facet, value) of one asset row r (SQLite: NEW/OLD), tags from its JSON list
_SQLITE_FACETS = ("SELECT '' AS f, '' AS v UNION ALL SELECT 'kind', {r}.kind "
                  "UNION ALL SELECT 'project', CAST({r}.project_id AS TEXT) UNION ALL SELECT 'owner', {r}.owner "
                  "UNION ALL SELECT 'classification', {r}.classification "
                  "UNION ALL SELECT 'tag', value FROM json_each({r}.tags) WHERE value IS NOT NULL")


def _sqlite_tally(r: str, sign: int) -> str:
    return (f"INSERT INTO search_facet_counts (facet, value, deprecated, n) "
            f"SELECT f, v, {r}.deprecated_at IS NOT NULL, {sign} FROM ({_SQLITE_FACETS.format(r=r)}) "
            f"WHERE {r}.listed ON CONFLICT (facet, value, deprecated) DO UPDATE SET n = n + excluded.n;")


_SQLITE_TAGS = ("INSERT OR IGNORE INTO asset_tags (tag, asset_id) SELECT DISTINCT value, new.id "
                "FROM json_each(new.tags) WHERE value IS NOT NULL;")

_PG_TAGS_FUNCTION = """
CREATE FUNCTION mlgov_asset_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM asset_tags WHERE asset_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND json_typeof(NEW.tags) = 'array' THEN
        INSERT INTO asset_tags (tag, asset_id)
        SELECT DISTINCT value, NEW.id FROM json_array_elements_text(NEW.tags) WHERE value IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$
"""

_PG_TALLY_FUNCTION = """
CREATE FUNCTION mlgov_search_tally(r assets, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT r.listed THEN
        RETURN;
    END IF;
    INSERT INTO search_facet_counts (facet, value, deprecated, n)
    SELECT f, v, r.deprecated_at IS NOT NULL, sum(sign) FROM (
        SELECT '' AS f, '' AS v UNION ALL SELECT 'kind', r.kind
        UNION ALL SELECT 'project', r.project_id::text UNION ALL SELECT 'owner', r.owner
        UNION ALL SELECT 'classification', r.classification
        UNION ALL SELECT 'tag', value FROM json_array_elements_text(
            CASE WHEN json_typeof(r.tags) = 'array' THEN r.tags ELSE '[]'::json END)
    ) AS each_facet GROUP BY f, v ORDER BY f, v
    ON CONFLICT (facet, value, deprecated) DO UPDATE SET n = search_facet_counts.n + excluded.n;
END $$
"""

_PG_COUNTS_FUNCTION = """
CREATE FUNCTION mlgov_search_facet_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM mlgov_search_tally(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM mlgov_search_tally(NEW, 1);
    END IF;
    RETURN NULL;
END $$
"""

_FILL_SQLITE = """
INSERT INTO search_facet_counts (facet, value, deprecated, n)
SELECT f, v, d, count(*) FROM (
    SELECT '' AS f, '' AS v, deprecated_at IS NOT NULL AS d FROM assets WHERE listed
    UNION ALL SELECT 'kind', kind, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'project', CAST(project_id AS TEXT), deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'owner', owner, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'classification', classification, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'tag', j.value, a.deprecated_at IS NOT NULL FROM assets a, json_each(a.tags) j
        WHERE a.listed AND j.value IS NOT NULL
) GROUP BY f, v, d
"""

_FILL_PG = """
INSERT INTO search_facet_counts (facet, value, deprecated, n)
SELECT f, v, d, count(*) FROM (
    SELECT '' AS f, '' AS v, deprecated_at IS NOT NULL AS d FROM assets WHERE listed
    UNION ALL SELECT 'kind', kind, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'project', project_id::text, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'owner', owner, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'classification', classification, deprecated_at IS NOT NULL FROM assets WHERE listed
    UNION ALL SELECT 'tag', j.value, a.deprecated_at IS NOT NULL FROM assets a,
        json_array_elements_text(a.tags) j WHERE a.listed AND json_typeof(a.tags) = 'array' AND j.value IS NOT NULL
) AS each_facet GROUP BY f, v, d
"""

_FILL_TAGS_SQLITE = ("INSERT INTO asset_tags (tag, asset_id) SELECT DISTINCT j.value, a.id FROM assets a, "
                     "json_each(a.tags) j WHERE j.value IS NOT NULL")
_FILL_TAGS_PG = ("INSERT INTO asset_tags (tag, asset_id) SELECT DISTINCT j.value, a.id FROM assets a, "
                 "json_array_elements_text(a.tags) j WHERE json_typeof(a.tags) = 'array' AND j.value IS NOT NULL")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        'asset_tags',
        sa.Column('tag', sa.String(length=128), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('tag', 'asset_id'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_asset_tags_asset_id', 'asset_tags', ['asset_id'], unique=False)
    op.create_table(
        'search_facet_counts',
        sa.Column('facet', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=128), nullable=False),
        sa.Column('deprecated', sa.Boolean(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('facet', 'value', 'deprecated'),
        sqlite_with_rowid=False,
    )
    if pg:
        op.execute("ALTER TABLE assets ADD COLUMN search_vector tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED")
        op.execute("CREATE INDEX ix_assets_search_vector ON assets USING GIN (search_vector)")
        op.execute("DROP INDEX ix_assets_search")
        op.execute(_FILL_TAGS_PG)
        op.execute(_FILL_PG)
        op.execute(_PG_TAGS_FUNCTION)
        op.execute(_PG_TALLY_FUNCTION)
        op.execute(_PG_COUNTS_FUNCTION)
        op.execute("CREATE TRIGGER assets_tags AFTER INSERT OR UPDATE OF tags OR DELETE ON assets "
                   "FOR EACH ROW EXECUTE FUNCTION mlgov_asset_tags()")
        # "assets_search_tally" sorts after "assets_search_generation": fired after it at commit
        op.execute("CREATE CONSTRAINT TRIGGER assets_search_tally AFTER INSERT OR UPDATE OR DELETE "
                   "ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION mlgov_search_facet_counts()")
        return
    op.execute(_FILL_TAGS_SQLITE)
    op.execute(_FILL_SQLITE)
    op.execute(f"CREATE TRIGGER assets_tags_insert AFTER INSERT ON assets BEGIN {_SQLITE_TAGS} END")
    op.execute("CREATE TRIGGER assets_tags_update AFTER UPDATE OF tags ON assets BEGIN "
               f"DELETE FROM asset_tags WHERE asset_id = old.id; {_SQLITE_TAGS} END")
    op.execute("CREATE TRIGGER assets_tags_delete AFTER DELETE ON assets BEGIN "
               "DELETE FROM asset_tags WHERE asset_id = old.id; END")
    op.execute(f"CREATE TRIGGER assets_search_tally_insert AFTER INSERT ON assets BEGIN "
               f"{_sqlite_tally('new', 1)} END")
    op.execute("CREATE TRIGGER assets_search_tally_update AFTER UPDATE OF listed, deprecated_at, kind, "
               "project_id, owner, classification, tags ON assets BEGIN "
               f"{_sqlite_tally('old', -1)} {_sqlite_tally('new', 1)} END")
    op.execute(f"CREATE TRIGGER assets_search_tally_delete AFTER DELETE ON assets BEGIN "
               f"{_sqlite_tally('old', -1)} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER assets_search_tally ON assets")
        op.execute("DROP TRIGGER assets_tags ON assets")
        op.execute("DROP FUNCTION mlgov_search_facet_counts()")
        op.execute("DROP FUNCTION mlgov_search_tally(assets, integer)")
        op.execute("DROP FUNCTION mlgov_asset_tags()")
        op.execute("CREATE INDEX ix_assets_search ON assets USING GIN (to_tsvector('english', search_text))")
        op.execute("DROP INDEX ix_assets_search_vector")
        op.execute("ALTER TABLE assets DROP COLUMN search_vector")
    else:
        for name in ("tags_insert", "tags_update", "tags_delete", "search_tally_insert",
                     "search_tally_update", "search_tally_delete"):
            op.execute(f"DROP TRIGGER assets_{name}")
    op.drop_table('search_facet_counts')
    op.drop_index('ix_asset_tags_asset_id', table_name='asset_tags')
    op.drop_table('asset_tags')
