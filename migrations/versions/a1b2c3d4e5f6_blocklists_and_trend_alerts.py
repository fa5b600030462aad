"""blocklists and trend alerts

Revision ID: a1b2c3d4e5f6
Revises: c56f0378d5cf
Create Date: 2026-11-21 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = 'c56f0378d5cf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'blocked_domains',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=5), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('block', 'allow')", name=op.f('ck_blocked_domains_kind')),
        sa.ForeignKeyConstraint(
            ['created_by'], ['staff.id'],
            name=op.f('fk_blocked_domains_created_by_staff'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_domains')),
        sa.UniqueConstraint('domain', name=op.f('uq_blocked_domains_domain')),
    )
    op.create_table(
        'blocked_networks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('network', sa.String(length=50), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by'], ['staff.id'],
            name=op.f('fk_blocked_networks_created_by_staff'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_networks')),
        sa.UniqueConstraint('network', name=op.f('uq_blocked_networks_network')),
    )
    op.create_table(
        'trend_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=7), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('held', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('address', 'domain')", name=op.f('ck_trend_alerts_kind')),
        sa.ForeignKeyConstraint(
            ['petition_id'], ['petitions.id'],
            name=op.f('fk_trend_alerts_petition_id_petitions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trend_alerts')),
        sa.UniqueConstraint(
            'petition_id', 'kind', 'value', 'day',
            name=op.f('uq_trend_alerts_petition_id_kind_value_day'),
        ),
    )


def downgrade():
    op.drop_table('trend_alerts')
    op.drop_table('blocked_networks')
    op.drop_table('blocked_domains')
