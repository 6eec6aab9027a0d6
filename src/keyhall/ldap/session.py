"""RFC 4511: one LDAP connection's state machine, sans I/O: a request in, responses out.

`Session.receive` takes a decoded `LdapMessage` and returns a `Reply` (bytes to write, and
whether to close or start TLS next) or, for a bind that needs a password check, a `PendingBind`:
the listener runs its `check` off the event loop and hands the result to `finish_bind`. Every
failure becomes the wire result the RFC names; nothing here touches sockets or threads.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from keyhall.directory.models import AuthResult, User
from keyhall.ldap import ber, controls, schema
from keyhall.ldap.backend import LdapBackend
from keyhall.ldap.dn import normalize_dn, parse_dn, parse_normalized
from keyhall.ldap.entries import Dit, Entry
from keyhall.ldap.matching import prepare
from keyhall.ldap.messages import encode_message
from keyhall.ldap.operations import (
    AbandonRequest,
    AddRequest,
    AddResponse,
    BindRequest,
    BindResponse,
    CompareRequest,
    CompareResponse,
    Control,
    DelRequest,
    DelResponse,
    ExtendedRequest,
    ExtendedResponse,
    LdapMessage,
    LdapResult,
    ModifyDNRequest,
    ModifyDNResponse,
    ModifyRequest,
    ModifyResponse,
    SearchRequest,
    SearchResultDone,
    UnbindRequest,
)
from keyhall.ldap.result_codes import LdapError, ResultCode
from keyhall.ldap.search import (
    ANONYMOUS,
    Role,
    Selection,
    Subject,
    encoded_entry,
    resolve_base,
    select,
    visible,
)

TOTP_ATTRIBUTE = "totptoken"  # Cloudron: cn=alice+totptoken=123456,ou=users,<base>
MAX_PAGED_SEARCHES = 8
SERVER_TIME_LIMIT = 30.0
PASSWORD_MODIFY = "1.3.6.1.4.1.4203.1.11.1"  # noqa: S105 - RFC 3062: a write, refused like the others
_WRITE_RESPONSES: dict[type, type[LdapResult]] = {
    ModifyRequest: ModifyResponse,
    AddRequest: AddResponse,
    DelRequest: DelResponse,
    ModifyDNRequest: ModifyDNResponse,
}


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes = b""
    close: bool = False
    start_tls: bool = False


@dataclass(frozen=True, slots=True)
class PendingBind:
    """A password check for the listener to run in a worker thread, after `delay` seconds."""

    message_id: int
    check: Callable[[], AuthResult]
    delay: float


@dataclass(slots=True)
class _Paging:
    fingerprint: tuple[object, ...]
    entries: list[Entry]
    selection: Selection
    types_only: bool
    position: int = 0


@dataclass(slots=True)
class Session:
    backend: LdapBackend
    ip: str
    tls: bool = False
    tls_available: bool = False
    subject: Subject = ANONYMOUS
    _paging: OrderedDict[bytes, _Paging] = field(default_factory=OrderedDict)

    def receive(self, message: LdapMessage) -> Reply | PendingBind:
        op = message.op
        mid = message.message_id
        if isinstance(op, BindRequest):
            return self._bind(mid, op)
        if isinstance(op, UnbindRequest):
            return Reply(close=True)
        if isinstance(op, AbandonRequest):
            return Reply()  # RFC 4511 §4.11: no response; searches here finish at once
        critical = [c for c in message.controls if c.critical and not _understood(c, op)]
        if critical:
            code = ResultCode.UNAVAILABLE_CRITICAL_EXTENSION
            return self._result(mid, op, code, f"unsupported critical control {critical[0].oid}")
        if isinstance(op, SearchRequest):
            return Reply(self._search(mid, op, message.controls))
        if isinstance(op, CompareRequest):
            return Reply(self._compare(mid, op))
        if isinstance(op, ExtendedRequest):
            return self._extended(mid, op)
        if type(op) in _WRITE_RESPONSES:
            return self._result(
                mid, op, ResultCode.UNWILLING_TO_PERFORM, "the directory is read-only"
            )
        return Reply(close=True)  # a response PDU from a client: nothing sensible to answer

    # -- bind (RFC 4511 §4.2, RFC 4513 §5.1) --------------------------------------------------
    def _bind(self, mid: int, op: BindRequest) -> Reply | PendingBind:
        self.subject = ANONYMOUS  # §4.2.1: a bind starts from anonymous, whatever its outcome
        self._paging.clear()
        if op.version != 3:
            return self._bind_reply(mid, ResultCode.PROTOCOL_ERROR, "only LDAPv3 is supported")
        if op.sasl_mechanism is not None:
            return self._bind_reply(mid, ResultCode.AUTH_METHOD_NOT_SUPPORTED, "use simple bind")
        if not op.name and not op.password:
            # RFC 4513 §5.1.1 leaves anonymous binds to policy: refused, as OpenLDAP's
            # "disallow bind_anon" does. The root DSE stays readable without any bind.
            return self._bind_reply(
                mid, ResultCode.INAPPROPRIATE_AUTHENTICATION, "anonymous bind disallowed"
            )
        if not op.password:
            # RFC 4513 §5.1.2: a DN with an empty password is an unauthenticated bind.
            return self._bind_reply(
                mid, ResultCode.UNWILLING_TO_PERFORM, "unauthenticated bind (DN with no password)"
            )
        verdict = self.backend.throttle.verdict(self.ip)
        if verdict.busy:
            return self._bind_reply(mid, ResultCode.BUSY, "too many failed binds; try later")
        try:
            password = op.password.decode("utf-8")
            target = self._bind_target(op.name)
        except (UnicodeDecodeError, LdapError):
            return self._failed_bind(mid)
        if target is None:
            return self._failed_bind(mid)
        if not isinstance(target, tuple):
            if self.backend.policy.secret_matches(password):
                tree = self.backend.tree()
                self.subject = Subject(Role.SERVICE, tree.service_dn, full_read=True)
                return self._bind_reply(mid, ResultCode.SUCCESS)
            return self._failed_bind(mid)
        login, totp = target
        if totp is None and (user := self.backend.credentials.cached(login, password)):
            return self._bound(mid, user)  # verified moments ago: no need for a worker thread
        backend, ip = self.backend, self.ip
        return PendingBind(
            mid, lambda: backend.check_user(login, password, totp, ip), verdict.delay
        )

    def finish_bind(self, pending: PendingBind, result: AuthResult) -> Reply:
        if not result.ok or result.user is None:
            return self._failed_bind(pending.message_id)
        return self._bound(pending.message_id, result.user)

    def _bound(self, mid: int, user: User) -> Reply:
        dn = self.backend.tree().user_dn(user.username)
        self.subject = Subject(Role.USER, dn, user.id, full_read=user.is_admin and user.can_log_in)
        return self._bind_reply(mid, ResultCode.SUCCESS)

    def _bind_target(self, name: str) -> str | tuple[str, str | None] | None:
        """'service', or (login, totp code) for a user DN under ou=users, or None."""
        tree = self.backend.tree()
        if normalize_dn(name) == tree.service_dn:
            return "service"
        dn = parse_dn(name)
        if len(dn) < 2 or parse_normalized(name)[1:] != parse_normalized(tree.users_dn):
            return None
        first = [(t.lower(), v) for t, v in dn[0]]
        totp = [v for t, v in first if t == TOTP_ATTRIBUTE]
        logins = [v for t, v in first if t != TOTP_ATTRIBUTE]
        if len(logins) != 1 or len(totp) > 1:
            return None
        # The attribute name doesn't matter (uid=, cn=, mail=...): the value is a login.
        return logins[0], (totp[0] if totp else None)

    def _failed_bind(self, mid: int) -> Reply:
        self.backend.throttle.failed(self.ip)
        # RFC 4513 §6.1: one answer for unknown user, wrong password and disabled account.
        return self._bind_reply(mid, ResultCode.INVALID_CREDENTIALS, "invalid credentials")

    def _bind_reply(self, mid: int, code: ResultCode, message: str = "") -> Reply:
        if code is ResultCode.SUCCESS and not message:
            return Reply(_wrap(ber.encode_integer(mid), _BIND_SUCCESS))
        return Reply(encode_message(LdapMessage(mid, BindResponse(code, "", message))))

    # -- search (RFC 4511 §4.5) -----------------------------------------------------------
    def _search(self, mid: int, op: SearchRequest, request_controls: tuple[Control, ...]) -> bytes:
        paged = next((c for c in request_controls if c.oid == controls.PAGED_RESULTS_OID), None)
        try:
            tree = self.backend.tree()
            if paged is not None:
                return self._paged_search(mid, op, controls.decode_paged_results(paged.value), tree)
            return self._plain_search(mid, op, tree)
        except LdapError as err:
            done = SearchResultDone(err.code, err.matched_dn, err.message)
            return encode_message(LdapMessage(mid, done))

    def _plain_search(self, mid: int, op: SearchRequest, tree: Dit) -> bytes:
        limit = self.backend.size_limit
        if op.size_limit:
            limit = min(limit, op.size_limit)
        entries, code = self._collect(tree, op, limit)
        selection = Selection.parse(op.attributes)
        message_id = ber.encode_integer(mid)
        out = [_wrap(message_id, encoded_entry(e, selection, op.types_only)) for e in entries]
        if code is ResultCode.SUCCESS:
            out.append(_wrap(message_id, _SEARCH_DONE))
        else:
            message = "size limit exceeded" if code is ResultCode.SIZE_LIMIT_EXCEEDED else ""
            out.append(encode_message(LdapMessage(mid, SearchResultDone(code, "", message))))
        return b"".join(out)

    def _collect(
        self, tree: Dit, op: SearchRequest, limit: int | None
    ) -> tuple[list[Entry], ResultCode]:
        base = resolve_base(tree, self.subject, op.base)
        if self.subject.role is Role.ANONYMOUS and base.dn not in ("", "cn=subschema"):
            raise LdapError(ResultCode.INSUFFICIENT_ACCESS_RIGHTS, "bind first")
        time_limit = (
            SERVER_TIME_LIMIT if not op.time_limit else min(op.time_limit, SERVER_TIME_LIMIT)
        )
        deadline = time.monotonic() + time_limit
        found: list[Entry] = []
        for count, entry in enumerate(select(tree, base, op.scope, op.filter)):
            if count & 255 == 255 and time.monotonic() > deadline:
                return found, ResultCode.TIME_LIMIT_EXCEEDED
            if not visible(tree, self.subject, entry):
                continue
            if limit is not None and len(found) >= limit:
                return found, ResultCode.SIZE_LIMIT_EXCEEDED
            found.append(entry)
        return found, ResultCode.SUCCESS

    def _paged_search(
        self, mid: int, op: SearchRequest, request: controls.PagedResults, tree: Dit
    ) -> bytes:
        """RFC 2696: the whole result is fixed at the first page; cookies name what's left."""
        fingerprint = (op.base, op.scope, op.filter, op.attributes, op.types_only, self.subject)
        if request.cookie:
            state = self._paging.get(request.cookie)
            if state is None or state.fingerprint != fingerprint:
                raise LdapError(ResultCode.UNWILLING_TO_PERFORM, "paged results cookie is invalid")
            del self._paging[request.cookie]
        else:
            entries, code = self._collect(tree, op, op.size_limit or None)
            if code is not ResultCode.SUCCESS and code is not ResultCode.SIZE_LIMIT_EXCEEDED:
                raise LdapError(code)
            state = _Paging(fingerprint, entries, Selection.parse(op.attributes), op.types_only)
        if request.size == 0:  # RFC 2696 §3: a size of zero abandons the paged search
            return self._paged_done(mid, b"", 0)
        page = state.entries[state.position : state.position + request.size]
        state.position += len(page)
        message_id = ber.encode_integer(mid)
        out = [_wrap(message_id, encoded_entry(e, state.selection, state.types_only)) for e in page]
        cookie = b""
        if state.position < len(state.entries):
            cookie = os.urandom(16)
            self._paging[cookie] = state
            while len(self._paging) > MAX_PAGED_SEARCHES:
                self._paging.popitem(last=False)
        out.append(self._paged_done(mid, cookie, len(state.entries)))
        return b"".join(out)

    def _paged_done(self, mid: int, cookie: bytes, total: int) -> bytes:
        control = controls.paged_results_control(controls.PagedResults(total, cookie))
        done = SearchResultDone(ResultCode.SUCCESS)
        return encode_message(LdapMessage(mid, done, (control,)))

    # -- compare (RFC 4511 §4.10) ---------------------------------------------------------
    def _compare(self, mid: int, op: CompareRequest) -> bytes:
        try:
            tree = self.backend.tree()
            if self.subject.role is Role.ANONYMOUS:
                raise LdapError(ResultCode.INSUFFICIENT_ACCESS_RIGHTS, "bind first")
            entry = resolve_base(tree, self.subject, op.dn)
            attr = schema.attribute(op.attribute)
            if attr is None:
                raise LdapError(ResultCode.UNDEFINED_ATTRIBUTE_TYPE, "unknown attribute")
            if attr.name not in entry.attrs:
                raise LdapError(ResultCode.NO_SUCH_ATTRIBUTE, "no such attribute")
            wanted = prepare(attr.rule, op.value.decode("utf-8", "replace"))
            if wanted is None:
                raise LdapError(ResultCode.INVALID_ATTRIBUTE_SYNTAX, "invalid value")
            code = (
                ResultCode.COMPARE_TRUE
                if wanted in entry.prepared(attr)
                else ResultCode.COMPARE_FALSE
            )
            response = CompareResponse(code)
        except LdapError as err:
            response = CompareResponse(err.code, err.matched_dn, err.message)
        return encode_message(LdapMessage(mid, response))

    # -- extended operations (RFC 4511 §4.12) ------------------------------------------------
    def _extended(self, mid: int, op: ExtendedRequest) -> Reply:
        if op.oid == controls.WHO_AM_I_OID:
            # RFC 4532: "dn:<DN>" for a bound connection, empty for anonymous.
            authz = f"dn:{self.subject.dn}" if self.subject.role is not Role.ANONYMOUS else ""
            response = ExtendedResponse(ResultCode.SUCCESS, response_value=authz.encode())
            return Reply(encode_message(LdapMessage(mid, response)))
        if op.oid == controls.START_TLS_OID:
            if self.tls or not self.tls_available:
                code = ResultCode.OPERATIONS_ERROR if self.tls else ResultCode.UNAVAILABLE
                reason = "TLS already established" if self.tls else "TLS is not configured"
                response = ExtendedResponse(code, "", reason, response_name=op.oid)
                return Reply(encode_message(LdapMessage(mid, response)))
            response = ExtendedResponse(ResultCode.SUCCESS, response_name=op.oid)
            return Reply(encode_message(LdapMessage(mid, response)), start_tls=True)
        if op.oid == PASSWORD_MODIFY:
            response = ExtendedResponse(
                ResultCode.UNWILLING_TO_PERFORM, "", "the directory is read-only"
            )
            return Reply(encode_message(LdapMessage(mid, response)))
        # RFC 4511 §4.12: an unrecognised request name gets protocolError.
        response = ExtendedResponse(
            ResultCode.PROTOCOL_ERROR, "", f"unsupported extended operation {op.oid}"
        )
        return Reply(encode_message(LdapMessage(mid, response)))

    def _result(self, mid: int, op: object, code: ResultCode, message: str) -> Reply:
        if isinstance(op, SearchRequest):
            response: LdapResult = SearchResultDone(code, "", message)
        elif isinstance(op, CompareRequest):
            response = CompareResponse(code, "", message)
        elif isinstance(op, ExtendedRequest):
            response = ExtendedResponse(code, "", message)
        else:
            response = _WRITE_RESPONSES.get(type(op), ModifyResponse)(code, "", message)
        return Reply(encode_message(LdapMessage(mid, response)))


def _understood(control: Control, op: object) -> bool:
    return control.oid in controls.SUPPORTED_CONTROLS and (
        control.oid != controls.PAGED_RESULTS_OID or isinstance(op, SearchRequest)
    )


def _wrap(message_id: bytes, op: bytes) -> bytes:
    """An LDAPMessage around an encoded protocolOp, given the encoded message ID."""
    return ber.encode_tlv(ber.SEQUENCE, message_id + op)


def _op_bytes(op: LdapResult) -> bytes:
    # An LDAPMessage this short has a 2-byte header, then the message ID, then the op.
    return encode_message(LdapMessage(0, op))[2 + len(ber.encode_integer(0)) :]


# The protocolOps most requests end with: success, no text.
_SEARCH_DONE = _op_bytes(SearchResultDone(ResultCode.SUCCESS))
_BIND_SUCCESS = _op_bytes(BindResponse(ResultCode.SUCCESS))
