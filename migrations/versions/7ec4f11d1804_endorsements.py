"""endorsements: organisations endorsing a petition or a day of action

The free-text list of endorsers each petition had (petitions.endorsers, one a line) becomes
approved endorsements, in the order of their lines; the column goes.

Revision ID: 7ec4f11d1804
Revises: 7ca1a02b6130
Create Date: 2026-12-04 02:19:19.179704

"""
from alembic import op
import datetime as dt

import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7ec4f11d1804'
down_revision = '7ca1a02b6130'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('endorsements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=True),
    sa.Column('day_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('website', sa.String(length=300), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('logo_name', sa.String(length=80), nullable=True),
    sa.Column('logo_width', sa.Integer(), nullable=True),
    sa.Column('logo_height', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_canonical_email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('repeat_of_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('held_reason', sa.String(length=200), nullable=True),
    sa.Column('added_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('unverified', 'pending', 'approved', 'rejected')", name=op.f('ck_endorsements_state')),
    sa.CheckConstraint('(petition_id IS NULL) <> (day_id IS NULL)', name=op.f('ck_endorsements_one_target')),
    sa.ForeignKeyConstraint(['day_id'], ['days_of_action.id'], name=op.f('fk_endorsements_day_id_days_of_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_endorsements_petition_id_petitions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['repeat_of_id'], ['endorsements.id'], name=op.f('fk_endorsements_repeat_of_id_endorsements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsements')),
    sa.UniqueConstraint('logo_name', name=op.f('uq_endorsements_logo_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_endorsements_token_hash'))
    )
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endorsements_contact_canonical_email'), ['contact_canonical_email'], unique=False)
        batch_op.create_index('ix_endorsements_day_state', ['day_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_endorsements_domain'), ['domain'], unique=False)
        batch_op.create_index('ix_endorsements_petition_state', ['petition_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_endorsements_repeat_of_id'), ['repeat_of_id'], unique=False)

    bind = op.get_bind()
    petitions = sa.table('petitions', sa.column('id', sa.Integer), sa.column('endorsers', sa.Text))
    endorsements = sa.table(
        'endorsements',
        *(sa.column(name) for name in (
            'petition_id', 'name', 'website', 'domain', 'country', 'statement', 'contact_name',
            'contact_email', 'contact_canonical_email', 'language', 'state', 'added_by',
        )),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('updated_at', sa.DateTime(timezone=True)),
        sa.column('approved_at', sa.DateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.timezone.utc)
    if bind.dialect.name == 'sqlite':
        now = now.replace(tzinfo=None)
    rows = []
    for petition_id, text in bind.execute(sa.select(petitions.c.id, petitions.c.endorsers)):
        seen = set()
        for line in (text or '').splitlines():
            name = ' '.join(line.split())[:200]
            if not name or name.casefold() in seen:
                continue
            seen.add(name.casefold())
            # Distinct times keep the lines' order (the list is in order of approval).
            moment = now + dt.timedelta(microseconds=len(rows))
            rows.append({
                'petition_id': petition_id, 'name': name, 'website': '', 'domain': '',
                'country': '', 'statement': '', 'contact_name': '', 'contact_email': '',
                'contact_canonical_email': '', 'language': 'en', 'state': 'approved',
                'added_by': 'migration', 'created_at': moment, 'updated_at': moment,
                'approved_at': moment,
            })
    if rows:
        op.bulk_insert(endorsements, rows)
    # Not a batch (which rebuilds the table on SQLite: dropping the old one would cascade to
    # every signature); SQLite 3.35+ and PostgreSQL both drop a plain column in place.
    op.execute('ALTER TABLE petitions DROP COLUMN endorsers')


def downgrade():
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('endorsers', sa.Text(), server_default='', nullable=False))
    # Approved endorsers of petitions go back to the free-text column, one a line.
    bind = op.get_bind()
    endorsements = sa.table(
        'endorsements', sa.column('id'), sa.column('petition_id'), sa.column('name'),
        sa.column('state'), sa.column('repeat_of_id'), sa.column('approved_at'),
    )
    petitions = sa.table('petitions', sa.column('id'), sa.column('endorsers'))
    lists = {}
    query = (
        sa.select(endorsements.c.petition_id, endorsements.c.name)
        .where(
            endorsements.c.state == 'approved',
            endorsements.c.petition_id.is_not(None),
            endorsements.c.repeat_of_id.is_(None),
        )
        .order_by(endorsements.c.approved_at, endorsements.c.id)
    )
    for petition_id, name in bind.execute(query):
        lists.setdefault(petition_id, []).append(name)
    for petition_id, names in lists.items():
        bind.execute(
            petitions.update().where(petitions.c.id == petition_id).values(endorsers='\n'.join(names))
        )
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endorsements_repeat_of_id'))
        batch_op.drop_index('ix_endorsements_petition_state')
        batch_op.drop_index(batch_op.f('ix_endorsements_domain'))
        batch_op.drop_index('ix_endorsements_day_state')
        batch_op.drop_index(batch_op.f('ix_endorsements_contact_canonical_email'))

    op.drop_table('endorsements')
