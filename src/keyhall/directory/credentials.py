"""Second factors (RFC 6238 TOTP) and app passwords, and the credential check that combines them.

`Credentials.authenticate` is what a front calls with whatever the user typed: it tries an app
password, then the password through `Directory.authenticate` (the one password path), then the
one-time code the user gave beside it or appended to it. Successful checks are remembered
briefly in a `VerifiedCache` so apps that bind on every request don't pay argon2 each time.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from keyhall.directory import app_passwords as ap
from keyhall.directory import totp
from keyhall.directory.app_passwords import AppPassword, AppPasswordHasher
from keyhall.directory.bind_cache import DEFAULT_TTL, VerifiedCache
from keyhall.directory.models import Actor, AuditEvent, AuthFailure, AuthResult, User
from keyhall.directory.sealing import Sealer
from keyhall.directory.service import Directory
from keyhall.errors import InvalidInput, NotFound
from keyhall.storage.credential_store import CredentialStore, TotpRecord
from keyhall.storage.store import Writer

# Writing last-use on every bind would turn each into a database write; a minute is precise
# enough to tell a user which app passwords are still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


class Credentials:
    def __init__(
        self, directory: Directory, secret_key: bytes, *, cache_ttl: float = DEFAULT_TTL
    ) -> None:
        self.directory = directory
        self.store = CredentialStore(directory.store)
        self._sealer = Sealer(secret_key, "totp")
        self._app_hasher = AppPasswordHasher(secret_key)
        self.cache = VerifiedCache(directory.view, ttl=cache_ttl)
        # Same-process changes drop cached checks at once; other nodes drop them on refresh.
        directory.revocation_listeners.append(lambda user, _reason: self.cache.drop_user(user.id))

    # -- TOTP ----------------------------------------------------------------------------
    def enroll_totp(self, username: str, *, actor: Actor, confirmed: bool = False) -> str:
        """Give the user a new secret and return its otpauth:// URI.

        Unconfirmed enrolments don't count until `confirm_totp` sees a first valid code;
        provisioning scripts that hold the URI themselves enrol `confirmed=True`.
        """
        user = self.directory.user(username)
        secret = totp.new_secret()
        with self.directory.store.write() as w:
            self.store.put_totp(
                w, user.id, self._sealer.seal(secret.encode()), confirmed=confirmed, now=self._now()
            )
            self._audit(w, actor, "user.totp_enroll", user.username, confirmed=confirmed)
        self._dropped(user)
        issuer = str(self.directory.settings()["name"])
        return totp.provisioning_uri(secret, user.email or user.username, issuer)

    def confirm_totp(self, username: str, code: str, *, actor: Actor) -> None:
        user = self.directory.user(username)
        record = self.store.totp(user.id)
        if record is None:
            raise NotFound(f"{user.username} has no two-factor enrolment to confirm")
        step = totp.matching_step(self._secret(record), code.strip(), self._now())
        with self.directory.store.write() as w:
            if step is None or not self.store.confirm_totp(w, user.id, step):
                raise InvalidInput("the code is not valid", field="code")
            self._audit(w, actor, "user.totp_confirm", user.username)
        self._dropped(user)

    def remove_totp(self, username: str, *, actor: Actor) -> bool:
        user = self.directory.user(username)
        with self.directory.store.write() as w:
            removed = self.store.delete_totp(w, user.id)
            self._audit(w, actor, "user.totp_remove", user.username)
        self._dropped(user)
        return removed

    def has_totp(self, user: User) -> bool:
        record = self.store.totp(user.id)
        return record is not None and record.confirmed

    # -- app passwords -------------------------------------------------------------------
    def add_app_password(
        self, username: str, name: str, *, actor: Actor
    ) -> tuple[AppPassword, str]:
        """Create an app password; the secret is returned once and never stored."""
        user = self.directory.user(username)
        name = name.strip()
        if not name or len(name) > ap.NAME_MAX or not name.isprintable():
            raise InvalidInput(f"app password name must be 1-{ap.NAME_MAX} printable characters")
        secret = ap.generate()
        with self.directory.store.write() as w:
            created = self.store.add_app_password(
                w,
                {
                    "id": str(uuid.uuid4()),
                    "user_id": user.id,
                    "name": name,
                    "digest": self._app_hasher.digest(secret),
                    "created_at": self._now(),
                },
            )
            self._audit(w, actor, "user.app_password_add", user.username, name=name)
        return created, secret

    def app_passwords(self, username: str) -> list[AppPassword]:
        return self.store.app_passwords(self.directory.user(username).id)

    def revoke_app_password(self, username: str, name: str, *, actor: Actor) -> None:
        user = self.directory.user(username)
        with self.directory.store.write() as w:
            if not self.store.delete_app_password(w, user.id, name):
                raise NotFound(f"{user.username} has no app password named {name!r}")
            self._audit(w, actor, "user.app_password_revoke", user.username, name=name)
        self._dropped(user)

    # -- checking ------------------------------------------------------------------------
    def authenticate(
        self,
        login: str,
        secret: str,
        *,
        totp_code: str | None = None,
        ip: str | None = None,
        via: str = "ldap",
    ) -> AuthResult:
        """Check what a user typed: an app password, or a password (+ code if enrolled)."""
        # Unknown logins go on to `Directory.authenticate` too: it finds users the view hasn't
        # loaded yet and lets the external directory auto-create them at first login. A user
        # created a moment ago is read from SQL here, so that their app passwords and second
        # factor count before the view has them (or the password alone would let them in).
        user = self.directory.view.user_by_login(login) or self.directory.store.user_by_login(login)
        if user is not None and totp_code is None:
            if self.cache.get(user, secret):
                return AuthResult(user)
            if ap.looks_like(secret):
                checked = self._check_app_password(user, secret, ip=ip, via=via)
                if checked is not None:
                    return checked
        record = self.store.totp(user.id) if user is not None else None
        if record is None or not record.confirmed:
            # No local second factor: a code given apart goes to the external directory, for
            # providers that check 2FA upstream (another Keyhall, Cloudron).
            result = self.directory.authenticate(login, secret, ip=ip, via=via, totp=totp_code)
            if result.ok and result.user is not None and totp_code is None:
                self.cache.put(result.user, secret)
            return result
        # Cloudron's convention: the code either comes apart or is the password's last digits.
        password, code = (secret, totp_code) if totp_code is not None else _split_code(secret)
        result = self.directory.authenticate(login, password, ip=ip, via=via)
        if not result.ok or result.user is None:
            return result
        # Never cached: a code is good once (RFC 6238 §5.2), so the next bind must bring another.
        if code is None or not self._use_code(result.user, record, code):
            self._record(result.user, "auth.totp", AuthFailure.SECOND_FACTOR, ip, via)
            return AuthResult(result.user, AuthFailure.SECOND_FACTOR)
        return result

    def cached(self, login: str, secret: str) -> User | None:
        """The user, if this exact check passed moments ago and nothing about them changed.

        Pure memory (no hash, no database), so a front may call it on its event loop.
        """
        view = self.directory.view
        user = view.user_by_login(login) if view.loaded else None
        if user is not None and self.cache.get(user, secret):
            return user
        return None

    def _check_app_password(
        self, user: User, secret: str, *, ip: str | None, via: str
    ) -> AuthResult | None:
        found = self.store.app_password_by_digest(self._app_hasher.digest(secret))
        # Looked up by digest: timing reveals only whether some app password has that digest,
        # which a guesser can't aim at without the HMAC key.
        if found is None or found.user_id != user.id:
            return None
        state = self.directory.store.credentials(user.id)
        if state is None or not state.can_log_in:
            self._record(user, "auth.app_password", AuthFailure.DISABLED, ip, via, found.name)
            return AuthResult(user, AuthFailure.DISABLED)
        now = self._now()
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION:
            self.store.mark_app_password_used(found.id, now)
        self._record(user, "auth.app_password", None, ip, via, found.name)
        self.cache.put(user, secret)
        return AuthResult(user)

    def _use_code(self, user: User, record: TotpRecord, code: str) -> bool:
        step = totp.matching_step(self._secret(record), code, self._now())
        return step is not None and step > record.last_step and self.store.use_step(user.id, step)

    # -- helpers -------------------------------------------------------------------------
    def _secret(self, record: TotpRecord) -> str:
        return self._sealer.open(record.sealed_secret).decode()

    def _now(self) -> datetime:
        return self.directory.clock()

    def _dropped(self, user: User) -> None:
        self.cache.drop_user(user.id)
        if self.directory.view.loaded:
            self.directory.refresh()

    def _record(
        self,
        user: User,
        action: str,
        failure: AuthFailure | None,
        ip: str | None,
        via: str,
        app: str | None = None,
    ) -> None:
        details: dict[str, str] = {"via": via}
        if app is not None:
            details["app"] = app
        self.directory.store.record_audit(
            AuditEvent(
                at=self._now(),
                actor=f"user:{user.username}",
                action=action,
                target=user.username,
                outcome="success" if failure is None else str(failure),
                ip=ip,
                details=details,
            )
        )

    def _audit(self, w: Writer, actor: Actor, action: str, target: str, **details: object) -> None:
        w.audit(
            AuditEvent(
                at=self._now(),
                actor=str(actor),
                action=action,
                target=target,
                outcome="success",
                ip=actor.ip,
                details=dict(details),
            )
        )


def _split_code(secret: str) -> tuple[str, str | None]:
    tail = secret[-totp.DIGITS :]
    if len(secret) > totp.DIGITS and totp.looks_like_code(tail):
        return secret[: -totp.DIGITS], tail
    return secret, None
