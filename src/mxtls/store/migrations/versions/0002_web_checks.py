"""web checks: permalinks of the checks asked for through mxtls serve

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_checks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("deep", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_web_checks_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_checks")),
    )
    with op.batch_alter_table("web_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_checks_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_checks_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_checks_report_id"))
        batch_op.drop_index(batch_op.f("ix_web_checks_created_at"))
    op.drop_table("web_checks")
