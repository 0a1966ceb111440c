"""profiles, contacts, invitations, outbox and processed events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from messaging_kit.events import event_tables
from sqlalchemy.dialects.postgresql import UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(255)),
        sa.Column("avatar_media_id", UUID(as_uuid=True)),
        sa.Column("status_text", sa.String(200), nullable=False, server_default=""),
        sa.Column("public_key", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    # Prefix search: under the "C" collation a plain btree serves `LIKE 'abc%'` as a range
    # scan and also hands rows out in ORDER BY order, so a broad prefix stops after one page.
    op.execute(
        'CREATE UNIQUE INDEX uq_profiles_username_lower ON profiles ((lower(username) COLLATE "C"))'
    )
    op.execute(
        "CREATE INDEX ix_profiles_display_name_lower"
        ' ON profiles ((lower(display_name) COLLATE "C"))'
    )
    op.create_table(
        "contacts",
        sa.Column("owner_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("status IN ('accepted', 'blocked')", name="ck_contacts_status"),
    )
    op.create_index("ix_contacts_contact_id", "contacts", ["contact_id"])
    op.create_table(
        "invitations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("inviter_id", UUID(as_uuid=True), nullable=False),
        sa.Column("invitee_id", UUID(as_uuid=True), nullable=False),
        sa.Column("message", sa.String(500), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_invitations_inviter_id", "invitations", ["inviter_id"])
    op.create_index("ix_invitations_invitee_id", "invitations", ["invitee_id"])
    op.create_index(
        "uq_invitations_pending_pair",
        "invitations",
        ["inviter_id", "invitee_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    # Version 1 of the kit's event tables, created as they were defined then.
    tables = event_tables(sa.MetaData())
    tables.outbox.create(op.get_bind())
    tables.processed.create(op.get_bind())


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")
    op.drop_table("invitations")
    op.drop_table("contacts")
    op.drop_table("profiles")
