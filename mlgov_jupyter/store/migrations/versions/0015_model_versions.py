"""model_versions: model revisions under governance.

- model_approvals: decisions on a model revision (Approved, Rejected, PendingManualApproval),
  one row each, kept as history; a revision without a row is PendingManualApproval.
- model_aliases / model_alias_moves: named pointers at a revision and who moved them when.
- project_settings: a project's governance settings (model_approval: off | warn | refuse).
- model_card_versions.model_revision / model_content_hash: the model a card version describes.

Revision ID: 0015
Revises: 0014

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'model_approvals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('decided_by', sa.String(length=128), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_model_approvals_asset_id', 'model_approvals', ['asset_id'])
    op.create_table(
        'model_aliases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.Column('alias', sa.String(length=64), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('moved_by', sa.String(length=128), nullable=False),
        sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('asset_id', 'alias'),
    )
    op.create_index('ix_model_aliases_asset_id', 'model_aliases', ['asset_id'])
    op.create_table(
        'model_alias_moves',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.Column('alias', sa.String(length=64), nullable=False),
        sa.Column('from_revision', sa.Integer(), nullable=True),
        sa.Column('to_revision', sa.Integer(), nullable=False),
        sa.Column('moved_by', sa.String(length=128), nullable=False),
        sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_model_alias_moves_asset_id', 'model_alias_moves', ['asset_id'])
    op.create_table(
        'project_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=256), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('project_id', 'key'),
    )
    op.create_index('ix_project_settings_project_id', 'project_settings', ['project_id'])
    with op.batch_alter_table('model_card_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_revision', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('model_content_hash', sa.String(length=71), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('model_card_versions', schema=None) as batch_op:
        batch_op.drop_column('model_content_hash')
        batch_op.drop_column('model_revision')
    for table in ('project_settings', 'model_alias_moves', 'model_aliases', 'model_approvals'):
        op.drop_index(f'ix_{table}_{"project_id" if table == "project_settings" else "asset_id"}',
                      table_name=table)
        op.drop_table(table)
