"""days of action: days, hosted events, RSVPs and the events' link tokens

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-02 21:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f6a7b8c9d0'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('days_of_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('toolkit', sa.Text(), nullable=False),
    sa.Column('requirements', sa.Text(), nullable=False),
    sa.Column('slogans', sa.Text(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'open', 'closed')", name=op.f('ck_days_of_action_state')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_days_of_action_window')),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_days_of_action_petition_id_petitions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_days_of_action')),
    sa.UniqueConstraint('slug', name=op.f('uq_days_of_action_slug'))
    )
    with op.batch_alter_table('days_of_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_days_of_action_petition_id'), ['petition_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('host_name', sa.String(length=200), nullable=False),
    sa.Column('host_email', sa.String(length=254), nullable=False),
    sa.Column('host_canonical_email', sa.String(length=254), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('venue', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('address_visibility', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('accessibility', sa.Text(), nullable=False),
    sa.Column('details_to_come', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('rsvp_changes', sa.Integer(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('held_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("address_visibility IN ('public', 'attendees')", name=op.f('ck_events_visibility')),
    sa.CheckConstraint("mode IN ('in_person', 'online')", name=op.f('ck_events_mode')),
    sa.CheckConstraint("state IN ('unverified', 'pending', 'approved', 'rejected', 'cancelled')", name=op.f('ck_events_state')),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_events_capacity')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at > starts_at', name=op.f('ck_events_times')),
    sa.ForeignKeyConstraint(['day_id'], ['days_of_action.id'], name=op.f('fk_events_day_id_days_of_action'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_day_state', ['day_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_host_canonical_email'), ['host_canonical_email'], unique=False)

    op.create_table('rsvps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('canonical_email', sa.String(length=254), nullable=False),
    sa.Column('share_with_host', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('held_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('attending', 'waiting', 'cancelled')", name=op.f('ck_rsvps_state')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_rsvps_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rsvps')),
    sa.UniqueConstraint('event_id', 'canonical_email', name='uq_rsvps_event_email')
    )
    with op.batch_alter_table('rsvps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rsvps_canonical_email'), ['canonical_email'], unique=False)
        batch_op.create_index('ix_rsvps_event_state', ['event_id', 'state', 'created_at'], unique=False)

    op.create_table('event_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('rsvp_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('host_confirm', 'manage', 'rsvp_cancel')", name=op.f('ck_event_tokens_purpose')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_tokens_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rsvp_id'], ['rsvps.id'], name=op.f('fk_event_tokens_rsvp_id_rsvps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_event_tokens_token_hash'))
    )
    with op.batch_alter_table('event_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_tokens_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_tokens_rsvp_id'), ['rsvp_id'], unique=False)



def downgrade():
    with op.batch_alter_table('event_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_tokens_rsvp_id'))
        batch_op.drop_index(batch_op.f('ix_event_tokens_event_id'))

    op.drop_table('event_tokens')
    with op.batch_alter_table('rsvps', schema=None) as batch_op:
        batch_op.drop_index('ix_rsvps_event_state')
        batch_op.drop_index(batch_op.f('ix_rsvps_canonical_email'))

    op.drop_table('rsvps')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_host_canonical_email'))
        batch_op.drop_index('ix_events_day_state')

    op.drop_table('events')
    with op.batch_alter_table('days_of_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_days_of_action_petition_id'))

    op.drop_table('days_of_action')
