"""erased_users: tombstones of erased users (messaging_kit.tombstones), an expand step

Revision ID: 0003
Revises: 0002
"""

from messaging_kit.tombstones import create_table, drop_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
upgrade = create_table
downgrade = drop_table
