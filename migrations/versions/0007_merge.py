"""join the notifications and roles branches

Revision ID: 0007_merge
Revises: 0005_notifications, 0006_roles
Create Date: 2026-11-24 08:52:03.199093

"""
from alembic import op
import sqlalchemy as sa
import tradeportal.db


# revision identifiers, used by Alembic.
revision = '0007_merge'
down_revision = ('0005_notifications', '0006_roles')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
