"""event host tools, photos, trusted hosts, mail attachments

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-03 10:14:40.705926

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f6a7b8c9d0e1'
down_revision = 'e5f6a7b8c9d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trusted_hosts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canonical_email', sa.String(length=254), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('added_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_hosts')),
    sa.UniqueConstraint('canonical_email', name=op.f('uq_trusted_hosts_canonical_email'))
    )
    op.create_table('event_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_messages_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_messages'))
    )
    with op.batch_alter_table('event_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_messages_event_id'), ['event_id'], unique=False)

    op.create_table('event_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=80), nullable=False),
    sa.Column('thumb_name', sa.String(length=80), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name=op.f('ck_event_photos_state')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_photos_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_photos')),
    sa.UniqueConstraint('file_name', name=op.f('uq_event_photos_file_name')),
    sa.UniqueConstraint('thumb_name', name=op.f('uq_event_photos_thumb_name'))
    )
    with op.batch_alter_table('event_photos', schema=None) as batch_op:
        batch_op.create_index('ix_event_photos_event_state', ['event_id', 'state'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('attachment_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('attachment', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attachment')
        batch_op.drop_column('attachment_type')
        batch_op.drop_column('attachment_name')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('edited_at')

    with op.batch_alter_table('event_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_event_photos_event_state')

    op.drop_table('event_photos')
    with op.batch_alter_table('event_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_messages_event_id'))

    op.drop_table('event_messages')
    op.drop_table('trusted_hosts')
