"""asset_filters: named scopes of a dataset (columns and a row filter); access requests ask for
one and grants carry one (NULL: the whole asset, as every grant before).

Revision ID: 0013
Revises: 0012

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'asset_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=True),
        sa.Column('row_filter', sa.JSON(), nullable=True),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('asset_id', 'name'),
    )
    op.create_index('ix_asset_filters_asset_id', 'asset_filters', ['asset_id'])
    for table in ('access_requests', 'grants'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('filter_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_filter_id', 'asset_filters', ['filter_id'], ['id'])


def downgrade() -> None:
    for table in ('grants', 'access_requests'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_filter_id', type_='foreignkey')
            batch_op.drop_column('filter_id')
    op.drop_index('ix_asset_filters_asset_id', table_name='asset_filters')
    op.drop_table('asset_filters')
