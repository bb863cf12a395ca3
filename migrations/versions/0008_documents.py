"""documents: categories, uploads and their files

Revision ID: 0008_documents
Revises: 0007_merge
Create Date: 2026-12-01 14:41:48.176863

"""
from alembic import op
import sqlalchemy as sa
import tradeportal.db


# revision identifiers, used by Alembic.
revision = '0008_documents'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_fr', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('name_de', sa.String(length=120), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('description_de', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_category'))
    )
    op.create_table('document_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('created_at', tradeportal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', tradeportal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('api_application_id', sa.Integer(), nullable=True),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('rejections', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['document_category.id'], name=op.f('fk_document_upload_category_id_document_category')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], name=op.f('fk_document_upload_created_by_user_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_document_upload_partner_id_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_upload')),
    sa.UniqueConstraint('reference', name=op.f('uq_document_upload_reference'))
    )
    with op.batch_alter_table('document_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_upload_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index('ix_document_upload_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=10), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', tradeportal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', tradeportal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('processed_at', tradeportal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('processed_by_id', sa.Integer(), nullable=True),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('api_application_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['document_category.id'], name=op.f('fk_document_category_id_document_category')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_document_partner_id_partner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['processed_by_id'], ['user_account.id'], name=op.f('fk_document_processed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['upload_id'], ['document_upload.id'], name=op.f('fk_document_upload_id_document_upload'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['user_account.id'], name=op.f('fk_document_uploaded_by_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_document_stored_name'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_partner_id_received_at', ['partner_id', 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_document_status_received_at', ['status', 'received_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_upload_id'), ['upload_id'], unique=False)



def downgrade():
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_upload_id'))
        batch_op.drop_index('ix_document_status_received_at')
        batch_op.drop_index('ix_document_partner_id_received_at')

    op.drop_table('document')
    with op.batch_alter_table('document_upload', schema=None) as batch_op:
        batch_op.drop_index('ix_document_upload_status_created_at')
        batch_op.drop_index(batch_op.f('ix_document_upload_partner_id'))

    op.drop_table('document_upload')
    op.drop_table('document_category')
