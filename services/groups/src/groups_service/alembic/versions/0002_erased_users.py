"""erased_users: tombstones of erased users (messaging_kit.tombstones), an expand step

Revision ID: 0002
Revises: 0001
"""

from messaging_kit.tombstones import create_table, drop_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
upgrade = create_table
downgrade = drop_table
