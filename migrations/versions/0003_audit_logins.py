"""audit logins: login, failed login, logout and export entries, with the client address

Revision ID: 0003_audit_logins
Revises: 0002_search_index
Create Date: 2026-11-26 08:41:02.929577

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_audit_logins'
down_revision = '0002_search_index'
branch_labels = None
depends_on = None

OLD = "action IN ('create', 'update', 'delete', 'restore', 'purge')"
NEW = (
    "action IN ('create', 'update', 'delete', 'restore', 'purge', 'login', 'login_failed',"
    " 'logout', 'export')"
)


def upgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ip', sa.String(length=45), nullable=True))
        batch_op.alter_column('action',
               existing_type=sa.VARCHAR(length=10),
               type_=sa.String(length=16),
               existing_nullable=False)
        batch_op.drop_constraint(op.f('ck_audit_entry_action_known'), type_='check')
        batch_op.create_check_constraint('action_known', NEW)


def downgrade():
    op.execute(
        "DELETE FROM audit_entry WHERE action IN ('login', 'login_failed', 'logout', 'export')"
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_entry_action_known'), type_='check')
        batch_op.create_check_constraint('action_known', OLD)
        batch_op.alter_column('action',
               existing_type=sa.String(length=16),
               type_=sa.VARCHAR(length=10),
               existing_nullable=False)
        batch_op.drop_column('ip')
