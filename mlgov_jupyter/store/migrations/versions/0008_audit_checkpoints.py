"""audit_checkpoints; backfill audit_events.project from the hashed detail

Revision ID: 0008
Revises: 0007

Stores made before 0006 have events whose detail names a project while the column added by 0006
is NULL; verification compares the two, so those events read as altered. The column is a copy
of what the hash covers, so filling it in changes nothing that is signed.
"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('audit_checkpoints',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('first_event', sa.Integer(), nullable=False),
    sa.Column('last_event', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, detail FROM audit_events WHERE project IS NULL")).all()
    updates = []
    for event_id, detail in rows:
        try:
            project = json.loads(detail).get("project")
        except (ValueError, AttributeError):
            continue  # verification reports it; nothing to copy
        if isinstance(project, str):
            updates.append({"id": event_id, "project": project})
    if updates:
        conn.execute(sa.text("UPDATE audit_events SET project = :project WHERE id = :id"), updates)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('audit_checkpoints')
