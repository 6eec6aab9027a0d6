"""The account use cases behind the sign-in and self-service pages (and, later, the dashboard).

Everything here is synchronous and may hash or touch the database: web handlers call it from
the thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from keyhall.accounts import links as ln
from keyhall.accounts import mail
from keyhall.accounts.factors import SecondFactors
from keyhall.accounts.passkeys import Passkeys, RelyingParty
from keyhall.accounts.profile import avatar_type
from keyhall.accounts.throttle import LoginGuard
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import LOCAL_SOURCE, Actor, AuditEvent, User
from keyhall.errors import Forbidden, InvalidInput, NotFound
from keyhall.logs import get_logger
from keyhall.storage.account_store import AccountStore, SessionInfo

if TYPE_CHECKING:
    from keyhall.oidc.sessions import Sessions
    from keyhall.runtime import Instance

log = get_logger("keyhall.accounts")


class Accounts:
    def __init__(self, inst: Instance, sessions: Callable[[], Sessions]) -> None:
        self.inst = inst
        self.directory = inst.directory
        self.clock = inst.directory.clock
        self.store = AccountStore(inst.store)
        self.credentials = Credentials(inst.directory, inst.secret_key)
        self.factors = SecondFactors(
            inst.directory, self.credentials, self.store, inst.secret_key, self.clock
        )
        self.passkeys = Passkeys(self.store, self.relying_party, self.clock)
        self.guard = LoginGuard(inst.directory, self.store, self.clock)
        self.links = ln.Links(self.store, inst.secret_key, self.clock)
        self.sessions = sessions

    @property
    def name(self) -> str:
        return str(self.directory.settings()["name"])

    def relying_party(self) -> RelyingParty:
        return RelyingParty.from_public_url(self.inst.config.public_url, self.name)

    def smtp(self) -> mail.SmtpConfig:
        c = self.inst.config
        return mail.SmtpConfig(
            c.smtp_host, c.smtp_port, c.smtp_username, c.smtp_password, c.smtp_from, c.smtp_security
        )

    # -- profile -------------------------------------------------------------------------
    def update_profile(self, user: User, *, email: str, display_name: str, actor: Actor) -> User:
        email, display_name = email.strip(), display_name.strip()
        changes: dict[str, str] = {}
        if email.lower() != user.email.lower():
            changes["email"] = email
        if display_name != user.display_name:
            changes["display_name"] = display_name
        if not changes:
            return user
        if user.source != LOCAL_SOURCE:
            raise Forbidden("your profile comes from your organisation's directory")
        if self.directory.settings()["lock_profile"]:
            raise Forbidden(
                "profiles are locked: ask an administrator to change your name or email"
            )
        names: dict[str, str] = {}
        if "display_name" in changes:
            given, _, family = display_name.partition(" ")
            names = {"given_name": given, "family_name": family}
        return self.directory.update_profile(
            user.username,
            actor=actor,
            email=changes.get("email"),
            display_name=changes.get("display_name"),
            **names,
        )

    def set_avatar(self, user: User, data: bytes, *, actor: Actor) -> None:
        kind = avatar_type(data)
        self.store.put_avatar(user.id, kind, data, self.clock())
        self._audit(actor, "user.avatar_set", user.username, type=kind)

    def remove_avatar(self, user: User, *, actor: Actor) -> None:
        if self.store.delete_avatar(user.id):
            self._audit(actor, "user.avatar_remove", user.username)

    # -- passwords -----------------------------------------------------------------------
    def change_password(
        self, user: User, current: str, new: str, *, actor: Actor, ip: str | None
    ) -> None:
        """Re-check the current password, then set the new one (which ends every session)."""
        if user.source != LOCAL_SOURCE:
            raise Forbidden("change your password in your organisation's directory")
        if not self.directory.authenticate(user.username, current, ip=ip, via="web").ok:
            raise InvalidInput("the current password is wrong", field="current_password")
        self.directory.set_password(user.username, new, actor=actor)

    def request_reset(self, login: str, *, ip: str | None) -> None:
        """Mail a reset link if the login names a local, active user; say nothing either way."""
        user = self.directory.view.user_by_login(login.strip()[:256])
        self._audit(Actor("anonymous", "web", ip), "user.password_reset_request", login[:128])
        if user is None or not user.can_log_in or user.source != LOCAL_SOURCE:
            return
        self._send_link(user, ln.RESET, background=True)

    def invite(self, username: str, *, actor: Actor) -> str:
        """Mail an invitation to set a password; return the address it went to."""
        user = self.directory.user(username)
        if user.source != LOCAL_SOURCE:
            raise Forbidden("directory users sign in with their directory password")
        self._send_link(user, ln.INVITE, background=False)
        self._audit(actor, "user.invite", user.username)
        return user.email

    def link_user(self, token: str, kind: str) -> User | None:
        user_id = self.links.user_id(token, kind)
        user = self.directory.view.users.get(user_id) if user_id else None
        if user_id and user is None and self.directory.refresh():
            user = self.directory.view.users.get(user_id)
        return user if user is not None and user.active else None

    def redeem_link(self, token: str, kind: str, password: str, *, ip: str | None) -> User:
        user = self.link_user(token, kind)
        if user is None:
            raise NotFound("this link is not valid any more: ask for a new one")
        # Policy first, so a rejected password does not use up the link.
        self.directory.check_password_policy(password)
        if not self.links.use(token, kind):
            raise NotFound("this link is not valid any more: ask for a new one")
        self.directory.set_password(user.username, password, actor=Actor("user", user.username, ip))
        return user

    def _send_link(self, user: User, kind: str, *, background: bool) -> None:
        config = self.smtp()
        if not config.enabled:
            if background:
                log.warning("password reset asked but mail is not configured", user=user.username)
                return
            raise mail.MailError(
                "mail is not configured (set KEYHALL_SMTP_HOST and KEYHALL_SMTP_FROM)"
            )
        token = self.links.issue(user, kind)
        msg = mail.message(config, self.name, user.email, *self._text(user, kind, token))

        def deliver() -> None:
            try:
                mail.send(config, msg)
            except mail.MailError as exc:
                log.warning("mail not sent", user=user.username, kind=kind, error=exc.message)

        if background:
            # Sending takes time only when the account exists: don't make the reply wait on it.
            threading.Thread(target=deliver, name="mail", daemon=True).start()
        else:
            mail.send(config, msg)

    def _text(self, user: User, kind: str, token: str) -> tuple[str, str]:
        link = ln.url(self.inst.config.public_url, kind, token)
        name = self.name
        if kind == ln.RESET:
            return (
                f"Reset your {name} password",
                f"Hello {user.display_name},\n\nsomeone (hopefully you) asked to reset the "
                f"password of your {name} account {user.username}. Choose a new one here "
                f"within an hour:\n\n{link}\n\nIf it wasn't you, ignore this message; your "
                f"password stays as it is.\n\n-- {name}\n",
            )
        return (
            f"You are invited to {name}",
            f"Hello {user.display_name},\n\nan account {user.username} was made for you on "
            f"{name}. Choose your password here within seven days:\n\n{link}\n\n-- {name}\n",
        )

    # -- sessions ------------------------------------------------------------------------
    def sessions_of(self, user: User) -> list[SessionInfo]:
        return self.store.sessions_of(user.id, self.clock())

    def end_session(self, user: User, sid: str, *, actor: Actor) -> None:
        """End one of the user's own sessions; its apps get back-channel logout."""
        if sid not in {s.sid for s in self.sessions_of(user)}:
            raise NotFound("no such session")
        self.sessions().end(sid, user.username, self.clock())
        self._audit(actor, "user.session_end", user.username)

    def _audit(self, actor: Actor, action: str, target: str, **details: object) -> None:
        self.directory.store.record_audit(
            AuditEvent(
                at=self.clock(),
                actor=str(actor),
                action=action,
                target=target,
                outcome="success",
                ip=actor.ip,
                details=dict(details),
            )
        )
