"""deployments_monitors: deployments (endpoints) with captured inferences, stored monitors with
their schedule state, alert episodes; a monitoring execution names its monitor and data window.

Revision ID: 0017
Revises: 0014

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'deployments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(128), nullable=False, unique=True),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('model_asset_id', sa.Integer(), sa.ForeignKey('assets.id'), nullable=False, index=True),
        sa.Column('model_revision', sa.Integer(), nullable=False),
        sa.Column('environment', sa.String(32), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('capture_asset_id', sa.Integer(), sa.ForeignKey('assets.id'), nullable=True),
        sa.Column('created_by', sa.String(128), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('updated_at', TZ, nullable=False),
    )
    op.create_table(
        'capture_files',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('deployment_id', sa.Integer(), sa.ForeignKey('deployments.id'), nullable=False, index=True),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('content_hash', sa.String(71), nullable=False),
        sa.Column('rows', sa.BigInteger(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('text_max', sa.JSON(), nullable=False),
        sa.Column('batch_rows', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(128), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
    )
    op.create_table(
        'monitors',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(128), nullable=False, unique=True),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('deployment_id', sa.Integer(), sa.ForeignKey('deployments.id'), nullable=True, index=True),
        sa.Column('model_asset_id', sa.Integer(), sa.ForeignKey('assets.id'), nullable=False, index=True),
        sa.Column('dataset_asset_id', sa.Integer(), sa.ForeignKey('assets.id'), nullable=True),
        sa.Column('monitor_type', sa.String(32), nullable=False),
        sa.Column('baseline_hash', sa.String(71), nullable=False),
        sa.Column('thresholds', sa.JSON(), nullable=False),
        sa.Column('schedule', sa.String(128), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('evaluation_period', sa.Integer(), nullable=False),
        sa.Column('datapoints_to_alert', sa.Integer(), nullable=False),
        sa.Column('watermark', sa.Integer(), nullable=False),
        sa.Column('next_run_at', TZ, nullable=True, index=True),
        sa.Column('running_since', TZ, nullable=True),
        sa.Column('last_run_at', TZ, nullable=True),
        sa.Column('created_by', sa.String(128), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('updated_at', TZ, nullable=False),
    )
    with op.batch_alter_table('monitoring_executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monitor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('window', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('started_at', TZ, nullable=True))
        batch_op.add_column(sa.Column('ended_at', TZ, nullable=True))
        batch_op.add_column(sa.Column('failure_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_executions_monitor', 'monitors', ['monitor_id'], ['id'])
        batch_op.create_index('ix_monitoring_executions_monitor_id', ['monitor_id'])
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('deployment_id', sa.Integer(), sa.ForeignKey('deployments.id'), nullable=True, index=True),
        sa.Column('monitor_id', sa.Integer(), sa.ForeignKey('monitors.id'), nullable=True, index=True),
        sa.Column('execution_id', sa.Integer(), sa.ForeignKey('monitoring_executions.id'), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('open_key', sa.String(160), nullable=True, unique=True),
        sa.Column('raised_at', TZ, nullable=False),
        sa.Column('resolved_at', TZ, nullable=True),
        sa.Column('acknowledged_by', sa.String(128), nullable=True),
        sa.Column('acknowledged_at', TZ, nullable=True),
        sa.Column('ack_comment', sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('alerts')
    with op.batch_alter_table('monitoring_executions', schema=None) as batch_op:
        batch_op.drop_index('ix_monitoring_executions_monitor_id')
        batch_op.drop_constraint('fk_executions_monitor', type_='foreignkey')
        for col in ('failure_reason', 'ended_at', 'started_at', 'window', 'monitor_id'):
            batch_op.drop_column(col)
    op.drop_table('monitors')
    op.drop_table('capture_files')
    op.drop_table('deployments')
