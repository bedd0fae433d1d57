"""monitor_creator_groups: monitors.created_by_groups holds the creator's groups as the identity
provider said when the monitor was created or last started by its creator (JSON list), so that
each run checks the creator's read access with their group roles, as access requests keep their
requester's groups (``requester_groups``). Monitors created before have none (NULL: no groups).

Revision ID: 0024
Revises: 0017

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('monitors') as batch:
        batch.add_column(sa.Column('created_by_groups', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('monitors') as batch:
        batch.drop_column('created_by_groups')
