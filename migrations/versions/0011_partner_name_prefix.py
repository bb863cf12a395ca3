"""partner.name_search: an index that answers "starts with" (LIKE 'x%') on PostgreSQL under any collation

Revision ID: 0011_partner_name_prefix
Revises: 0010_totp_candidate
Create Date: 2026-12-03 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_partner_name_prefix'
down_revision = '0010_totp_candidate'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('partner') as batch_op:
        batch_op.create_index('ix_partner_name_prefix', ['name_search'], unique=False,
                              postgresql_ops={'name_search': 'varchar_pattern_ops'})


def downgrade():
    with op.batch_alter_table('partner') as batch_op:
        batch_op.drop_index('ix_partner_name_prefix', postgresql_ops={'name_search': 'varchar_pattern_ops'})
