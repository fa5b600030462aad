"""signature held: a real column for signatures an abuse check held, instead of a reason prefix

Revision ID: d4e5f6a7b8c9
Revises: 3bed7679f39c
Create Date: 2026-12-02 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e5f6a7b8c9'
down_revision = '3bed7679f39c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Until now a held signature was told by its reason, which every abuse check starts with
    # "held: "; staff verdicts never did (the staff forms store the reason typed).
    op.execute(
        "UPDATE signatures SET held = true "
        "WHERE state = 'fraudulent' AND moderation_reason LIKE 'held: %'"
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'held_fraudulent', "NOT held OR state = 'fraudulent'"
        )


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint('held_fraudulent', type_='check')
        batch_op.drop_column('held')
