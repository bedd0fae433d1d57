"""sealed_channel_secrets: channels.secret holds a webhook's signing secret sealed with a key derived
from the service's key file (store/anchor.py ``seal``: "sealed:" + a Fernet token, ~190
characters), so the column widens to 255. SQLite does not enforce VARCHAR lengths: nothing to do
there. Secrets stored before are sealed by the service when it next delivers to the channel.

Revision ID: 0021
Revises: 0016

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column('channels', 'secret', type_=sa.String(length=255), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column('channels', 'secret', type_=sa.String(length=128), existing_nullable=True)
