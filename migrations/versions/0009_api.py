"""api applications, tokens, the partner API feed, webhook deliveries, download tickets

Revision ID: 0009_api
Revises: 0008_documents
Create Date: 2026-12-01 14:45:00

"""
from alembic import op
import sqlalchemy as sa
import tradeportal.db


# revision identifiers, used by Alembic.
revision = '0009_api'
down_revision = '0008_documents'
branch_labels = None
depends_on = None

UTC = tradeportal.db.UTCDateTime(timezone=True)


def upgrade():
    op.create_table('api_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('environment', sa.String(length=10), nullable=False),
    sa.Column('scopes', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('client_secret_hash', sa.String(length=64), nullable=True),
    sa.Column('secret_created_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', UTC, nullable=True),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.Column('reveal_kind', sa.String(length=20), nullable=True),
    sa.Column('reveal_user_id', sa.Integer(), nullable=True),
    sa.Column('reveal_until', UTC, nullable=True),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('webhook_nonce', sa.String(length=64), nullable=True),
    sa.Column('webhook_cursor', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_api_application_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_api_application_partner_id_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_application')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_application_client_id'))
    )
    with op.batch_alter_table('api_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_application_partner_id'), ['partner_id'], unique=False)

    op.create_table('api_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('read_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_notification'))
    )
    with op.batch_alter_table('api_notification', schema=None) as batch_op:
        batch_op.create_index('ix_api_notification_partner_id_is_test_id', ['partner_id', 'is_test', 'id'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('used_at', UTC, nullable=True),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['api_application.id'], name=op.f('fk_api_token_application_id_api_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_token_family'), ['family'], unique=False)

    op.create_table('api_download_ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('used_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['api_application.id'], name=op.f('fk_api_download_ticket_application_id_api_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_download_ticket')),
    sa.UniqueConstraint('ticket_hash', name=op.f('uq_api_download_ticket_ticket_hash'))
    )
    with op.batch_alter_table('api_download_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_download_ticket_application_id'), ['application_id'], unique=False)

    op.create_table('api_webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC, nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('delivered_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['api_application.id'], name=op.f('fk_api_webhook_delivery_application_id_api_application'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notification_id'], ['api_notification.id'], name=op.f('fk_api_webhook_delivery_notification_id_api_notification'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_webhook_delivery')),
    sa.UniqueConstraint('application_id', 'notification_id', name=op.f('uq_api_webhook_delivery_application_id_notification_id'))
    )
    with op.batch_alter_table('api_webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_api_webhook_delivery_application_id_id', ['application_id', 'id'], unique=False)
        batch_op.create_index('ix_api_webhook_delivery_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_table('api_webhook_delivery')
    op.drop_table('api_download_ticket')
    op.drop_table('api_token')
    op.drop_table('api_notification')
    op.drop_table('api_application')
