"""partner.name_search in byte order ("C") on PostgreSQL, so that its index answers "starts with"

Revision ID: 0011_partner_name_prefix
Revises: 0010_totp_candidate
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_partner_name_prefix'
down_revision = '0010_totp_candidate'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite orders text by bytes already (and knows no collation named "C").
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('partner', 'name_search', type_=sa.String(length=200, collation='C'),
                        existing_type=sa.String(length=200), existing_nullable=False)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('partner', 'name_search', type_=sa.String(length=200),
                        existing_type=sa.String(length=200, collation='C'), existing_nullable=False)
