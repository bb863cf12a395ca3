"""roles: the role requests of partners (an active request is the grant of the role)

Revision ID: 0006_roles
Revises: 0004_partners
Create Date: 2026-11-24 07:41:59.492187

"""
from alembic import op
import sqlalchemy as sa
import tradeportal.db


# revision identifiers, used by Alembic.
revision = '0006_roles'
down_revision = '0004_partners'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('role_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', tradeportal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('activated_at', tradeportal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', tradeportal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_role_request_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_role_request_partner_id_partner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_role_request_requested_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_role_request_role_id_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_request'))
    )
    with op.batch_alter_table('role_request', schema=None) as batch_op:
        batch_op.create_index('ix_role_request_partner_id_status', ['partner_id', 'status'], unique=False)
        batch_op.create_index('ix_role_request_role_id_status', ['role_id', 'status'], unique=False)
        batch_op.create_index('ix_role_request_status_requested_at', ['status', 'requested_at', 'id'], unique=False)
        # At most one open (pending or active) request per partner and role, enforced by the database.
        batch_op.create_index('uq_role_request_open', ['partner_id', 'role_id'], unique=True, sqlite_where=sa.text("status IN ('pending', 'active')"), postgresql_where=sa.text("status IN ('pending', 'active')"))



def downgrade():
    with op.batch_alter_table('role_request', schema=None) as batch_op:
        batch_op.drop_index('uq_role_request_open', sqlite_where=sa.text("status IN ('pending', 'active')"), postgresql_where=sa.text("status IN ('pending', 'active')"))
        batch_op.drop_index('ix_role_request_status_requested_at')
        batch_op.drop_index('ix_role_request_role_id_status')
        batch_op.drop_index('ix_role_request_partner_id_status')

    op.drop_table('role_request')
