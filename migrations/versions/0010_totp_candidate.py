"""user_account.totp_candidate_secret: the secret offered at the first set-up, kept on the server

Revision ID: 0010_totp_candidate
Revises: 0009_api
Create Date: 2026-12-02 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_totp_candidate'
down_revision = '0009_api'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch_op:
        batch_op.add_column(sa.Column('totp_candidate_secret', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account') as batch_op:
        batch_op.drop_column('totp_candidate_secret')
