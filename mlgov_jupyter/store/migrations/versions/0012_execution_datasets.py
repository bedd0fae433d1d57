"""execution_datasets: a monitoring execution keeps the catalog datasets it was computed on (asset
id and name); its report is shown only to those who may read them. NULL: not recorded (older
executions, older clients), and then only the model's project sees the report.

Revision ID: 0012
Revises: 0010

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('monitoring_executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('datasets', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('monitoring_executions', schema=None) as batch_op:
        batch_op.drop_column('datasets')
