"""revision_classification: each revision keeps the classification it was published under;
access requests keep the requester's groups (group roles' max_grant_days stamp the grant)

Revision ID: 0010
Revises: 0009

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('asset_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('classification', sa.String(length=16), nullable=True))
    # existing revisions: the asset's classification now is the best record there is
    op.execute("UPDATE asset_revisions SET classification = "
               "(SELECT assets.classification FROM assets WHERE assets.id = asset_revisions.asset_id)")
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requester_groups', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_column('requester_groups')
    with op.batch_alter_table('asset_revisions', schema=None) as batch_op:
        batch_op.drop_column('classification')
