"""group_invitations: adding someone who has not accepted the adder as a contact invites them
(an expand step: a new table only)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_invitations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "group_id",
            UUID(as_uuid=True),
            sa.ForeignKey("groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("inviter_id", UUID(as_uuid=True), nullable=False),
        sa.Column("invitee_id", UUID(as_uuid=True), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "uq_group_invitations_pending",
        "group_invitations",
        ["group_id", "invitee_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_group_invitations_invitee", "group_invitations", ["invitee_id"])
    op.create_index("ix_group_invitations_inviter", "group_invitations", ["inviter_id"])


def downgrade() -> None:
    op.drop_table("group_invitations")
