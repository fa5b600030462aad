"""staff session version: a password change or a deactivation ends the account's sessions

Revision ID: 3bed7679f39c
Revises: b7c8d9e0f1a2
Create Date: 2026-11-21 11:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3bed7679f39c'
down_revision = 'b7c8d9e0f1a2'
branch_labels = None
depends_on = None


def upgrade():
    # Every account starts at 0, the version that sessions from before this revision (whose id
    # holds no version) are taken to have: upgrading logs nobody out.
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('session_version')
