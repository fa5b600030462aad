"""blocklists and trend alerts (placeholder: filled in by the abuse work)

Revision ID: a1b2c3d4e5f6
Revises: c56f0378d5cf
Create Date: 2026-11-21 12:00:00

"""


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = 'c56f0378d5cf'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
