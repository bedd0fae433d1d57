"""notifications: the outbox (events, per-user in-Lab notifications, per-channel deliveries)
and the channels people and projects add (webhook, email, project in-Lab).

Revision ID: 0016
Revises: 0014

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('target', sa.Text(), nullable=True),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('user', sa.String(length=128), nullable=False),
        sa.Column('project', sa.String(length=64), nullable=True),
        sa.Column('secret', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_channels_user', 'channels', ['user'])
    op.create_index('ix_channels_project', 'channels', ['project'])
    op.create_table(
        'notification_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('project', sa.String(length=64), nullable=True),
        sa.Column('dedupe_key', sa.String(length=160), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    op.create_index('ix_notification_events_event', 'notification_events', ['event'])
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('user', sa.String(length=128), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['notification_events.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'user'),
    )
    op.create_index('ix_notifications_event_id', 'notifications', ['event_id'])
    op.create_index('ix_notifications_user_read', 'notifications', ['user', 'read_at'])
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('log', sa.JSON(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['notification_events.id']),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deliveries_event_id', 'deliveries', ['event_id'])
    op.create_index('ix_deliveries_channel_id', 'deliveries', ['channel_id'])
    op.create_index('ix_deliveries_status', 'deliveries', ['status'])
    op.create_index('ix_deliveries_next_attempt_at', 'deliveries', ['next_attempt_at'])


def downgrade() -> None:
    op.drop_table('deliveries')
    op.drop_table('notifications')
    op.drop_table('notification_events')
    op.drop_table('channels')
