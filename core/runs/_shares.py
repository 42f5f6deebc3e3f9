"""Share links: an unguessable token (`secrets.token_urlsafe`, 192 bits) that opens exactly one run, read-only,
until it is revoked. Only the token's SHA-256 is stored, so reading the database does not hand out links; the
token itself exists only in the link the run's owner copied.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from core.common import ModelDeckError
from core.runs._schema import share_links_table

TOKEN_BYTES = 24


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ShareLink:
    """One link to a run (its token is not kept: `ref` is the first characters of the token's hash)."""

    ref: str
    run_id: str
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ShareLinks:
    """The `share_links` table of RunStore."""

    engine: sa.Engine

    def create_share(self, run_id: str, created_by: str | None = None) -> str:
        """A new token that opens `run_id` read-only (the caller checks that the user may share the run)."""
        from core.runs._heartbeat import now
        self.get(run_id)              # type: ignore[attr-defined]  # a ModelDeckError for an unknown run
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.engine.begin() as conn:
            conn.execute(share_links_table.insert().values(token_hash=token_hash(token), run_id=run_id,
                                                           created_by=created_by, created_at=now()))
        return token

    def shared_run_id(self, token: str) -> str | None:
        """The run a live token opens; None for an unknown, mistyped or revoked token."""
        if not token or len(token) > 200:
            return None
        table = share_links_table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table.c.run_id).where(table.c.token_hash == token_hash(token))
                               .where(table.c.revoked_at.is_(None))).first()
        return row.run_id if row else None

    def share_links(self, run_id: str) -> list[ShareLink]:
        table = share_links_table
        with self.engine.connect() as conn:
            rows = conn.execute(table.select().where(table.c.run_id == run_id)
                                .order_by(table.c.created_at.desc())).all()
        return [ShareLink(r.token_hash[:10], r.run_id, r.created_by, r.created_at, r.revoked_at) for r in rows]

    def revoke_share(self, run_id: str, ref: str | None = None) -> int:
        """Revoke one link of a run (by `ref` or by the token itself) or, without `ref`, all of them; returns how
        many were live."""
        from core.runs._heartbeat import now
        table = share_links_table
        query = table.update().where(table.c.run_id == run_id).where(table.c.revoked_at.is_(None))
        if ref is not None:
            prefix = ref if len(ref) <= 64 and all(c in "0123456789abcdef" for c in ref) else token_hash(ref)
            if len(prefix) < 8:
                raise ModelDeckError("Name the link to revoke by at least 8 characters of its reference.")
            query = query.where(table.c.token_hash.startswith(prefix, autoescape=True))
        with self.engine.begin() as conn:
            return conn.execute(query.values(revoked_at=now())).rowcount

    def _delete_shares(self, conn, run_id: str) -> None:
        conn.execute(share_links_table.delete().where(share_links_table.c.run_id == run_id))
