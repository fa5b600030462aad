"""count deltas: the journal confirmations append to instead of updating the petition row

Revision ID: b7c8d9e0f1a2
Revises: a1b2c3d4e5f6
Create Date: 2026-11-21 12:00:01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c8d9e0f1a2'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'count_deltas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('delta', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['petition_id'], ['petitions.id'],
            name=op.f('fk_count_deltas_petition_id_petitions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_count_deltas')),
    )
    # The exact read sums a petition's entries; the fold keeps them few.
    with op.batch_alter_table('count_deltas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_count_deltas_petition_id'), ['petition_id'], unique=False)


def downgrade():
    # Fold what is pending first, so going back to the counter-row design loses no count.
    op.execute(
        "UPDATE petitions SET confirmed_count = confirmed_count + "
        "(SELECT SUM(delta) FROM count_deltas WHERE count_deltas.petition_id = petitions.id) "
        "WHERE id IN (SELECT petition_id FROM count_deltas)"
    )
    op.execute(
        "UPDATE country_counts SET count = count + "
        "(SELECT SUM(delta) FROM count_deltas d WHERE d.petition_id = country_counts.petition_id "
        "AND d.country = country_counts.country) "
        "WHERE EXISTS (SELECT 1 FROM count_deltas d WHERE d.petition_id = country_counts.petition_id "
        "AND d.country = country_counts.country)"
    )
    op.execute(
        "INSERT INTO country_counts (petition_id, country, count) "
        "SELECT petition_id, country, SUM(delta) FROM count_deltas d WHERE NOT EXISTS "
        "(SELECT 1 FROM country_counts c WHERE c.petition_id = d.petition_id "
        "AND c.country = d.country) GROUP BY petition_id, country"
    )
    with op.batch_alter_table('count_deltas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_count_deltas_petition_id'))

    op.drop_table('count_deltas')
