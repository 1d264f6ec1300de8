"""accounts: users, memberships, invitations, sessions, API tokens, password resets, login attempts,
contact requests and their events, access grants and their log, listing reports, moderation, notifications

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('access_grant_log',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('listing_id', BigId, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor_user_id', BigId, nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_access_grant_log_listing_id'), 'access_grant_log', ['listing_id'], unique=False)
    op.create_table('login_attempts',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_login_attempts_email'), 'login_attempts', ['email'], unique=False)
    op.create_index(op.f('ix_login_attempts_ip'), 'login_attempts', ['ip'], unique=False)
    op.create_table('users',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('api_tokens',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('invitations',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_invitations_org_id'), 'invitations', ['org_id'], unique=False)
    op.create_table('memberships',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id')
    )
    op.create_index(op.f('ix_memberships_org_id'), 'memberships', ['org_id'], unique=False)
    op.create_table('notifications',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_notifications_org_id'), 'notifications', ['org_id'], unique=False)
    op.create_table('password_resets',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_password_resets_user_id'), 'password_resets', ['user_id'], unique=False)
    op.create_table('user_sessions',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)
    op.create_table('access_grants',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('listing_id', BigId, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('granted_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['granted_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('listing_id', 'org_id', name='uq_access_grants_listing_org')
    )
    op.create_index(op.f('ix_access_grants_listing_id'), 'access_grants', ['listing_id'], unique=False)
    op.create_index(op.f('ix_access_grants_org_id'), 'access_grants', ['org_id'], unique=False)
    op.create_table('contact_requests',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('listing_id', BigId, nullable=False),
    sa.Column('from_org_id', BigId, nullable=False),
    sa.Column('to_org_id', BigId, nullable=False),
    sa.Column('from_user_id', BigId, nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('nda_accepted', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decline_reason', sa.String(length=32), nullable=True),
    sa.Column('decline_note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['from_org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_contact_requests_from_org_id'), 'contact_requests', ['from_org_id'], unique=False)
    op.create_index(op.f('ix_contact_requests_listing_id'), 'contact_requests', ['listing_id'], unique=False)
    op.create_index(op.f('ix_contact_requests_to_org_id'), 'contact_requests', ['to_org_id'], unique=False)
    op.create_table('listing_moderation',
    sa.Column('listing_id', BigId, autoincrement=False, nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('publish_on_verify', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('listing_id')
    )
    op.create_table('listing_reports',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('listing_id', BigId, nullable=False),
    sa.Column('reporter_user_id', BigId, nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('resolved_by', BigId, nullable=True),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_listing_reports_listing_id'), 'listing_reports', ['listing_id'], unique=False)
    op.create_table('contact_events',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('request_id', BigId, nullable=False),
    sa.Column('actor_user_id', BigId, nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['contact_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_contact_events_request_id'), 'contact_events', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_table('contact_events')
    op.drop_table('listing_reports')
    op.drop_table('listing_moderation')
    op.drop_table('contact_requests')
    op.drop_table('access_grants')
    op.drop_table('user_sessions')
    op.drop_table('password_resets')
    op.drop_table('notifications')
    op.drop_table('memberships')
    op.drop_table('invitations')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('login_attempts')
    op.drop_table('access_grant_log')
