"""RFC 4511 §4.5.1.7: evaluating search filters against entries, three-valued.

Each filter item is TRUE, FALSE or Undefined (None): Undefined when the attribute is unknown,
has no rule for the kind of match asked, or the assertion value is invalid for its syntax
(RFC 4511 §4.5.1.7). `candidates` narrows a search to the entries an index can name before
the full filter is evaluated on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from keyhall.ldap import schema
from keyhall.ldap.dn import parse_dn
from keyhall.ldap.entries import INDEXED, Dit, Entry
from keyhall.ldap.filters import (
    And,
    ApproxMatch,
    EqualityMatch,
    ExtensibleMatch,
    Filter,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
)
from keyhall.ldap.matching import Prepared, prepare, prepare_string
from keyhall.ldap.schema import Rule

Truth = bool | None
"""TRUE, FALSE or Undefined (None)."""

IN_CHAIN = "1.2.840.113556.1.4.1941"  # AD LDAP_MATCHING_RULE_IN_CHAIN
BIT_AND = "1.2.840.113556.1.4.803"  # AD LDAP_MATCHING_RULE_BIT_AND
BIT_OR = "1.2.840.113556.1.4.804"  # AD LDAP_MATCHING_RULE_BIT_OR

# Extensible-match rules by name and OID (RFC 4517 §4.2), as the equality rule they apply.
_RULES: dict[str, Rule | str] = {}
for _names, _rule in (
    (("caseignorematch", "2.5.13.2"), Rule.CASE_IGNORE),
    (("caseignoreia5match", "1.3.6.1.4.1.1466.109.114.2"), Rule.CASE_IGNORE_IA5),
    (("caseexactia5match", "1.3.6.1.4.1.1466.109.114.1"), Rule.CASE_EXACT_IA5),
    (("caseexactmatch", "2.5.13.5"), Rule.CASE_EXACT_IA5),
    (("objectidentifiermatch", "2.5.13.0"), Rule.OID),
    (("distinguishednamematch", "2.5.13.1"), Rule.DN),
    (("uniquemembermatch", "2.5.13.23"), Rule.UNIQUE_MEMBER),
    (("integermatch", "2.5.13.14"), Rule.INTEGER),
    (("generalizedtimematch", "2.5.13.27"), Rule.TIME),
    (("uuidmatch", "1.3.6.1.1.16.2"), Rule.UUID),
    (("octetstringmatch", "2.5.13.17"), Rule.OCTETS),
):
    for _name in _names:
        _RULES[_name] = _rule
_RULES.update({IN_CHAIN: IN_CHAIN, BIT_AND: BIT_AND, BIT_OR: BIT_OR})
_DN_RULES = (Rule.DN, Rule.UNIQUE_MEMBER)
_STRING_RULES = (Rule.CASE_IGNORE, Rule.CASE_IGNORE_IA5, Rule.CASE_EXACT_IA5, Rule.OID)


def _text(value: bytes) -> str | None:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _assertion(attr: schema.AttributeType, value: bytes) -> Prepared | None:
    text = _text(value)
    return None if text is None else prepare(attr.rule, text)


def _equality(f: EqualityMatch | ApproxMatch, entry: Entry) -> Truth:
    # Approximate matching is left to the implementation (RFC 4511 §4.5.1.7.6): equality.
    attr = schema.attribute(f.attribute)
    if attr is None:
        return None
    wanted = _assertion(attr, f.value)
    if wanted is None:
        return None
    return wanted in entry.prepared(attr)


def _ordering(f: GreaterOrEqual | LessOrEqual, entry: Entry) -> Truth:
    attr = schema.attribute(f.attribute)
    if attr is None or not attr.ordered:
        return None
    bound = _assertion(attr, f.value)
    if bound is None:
        return None
    values = entry.prepared(attr)
    if isinstance(f, GreaterOrEqual):
        return any(v >= bound for v in values)  # type: ignore[operator]
    return any(v <= bound for v in values)  # type: ignore[operator]


def _present(f: Present, entry: Entry) -> Truth:
    attr = schema.attribute(f.attribute)
    if attr is None:
        return None
    return attr.name == "objectClass" or attr.name in entry.attrs


def _substrings(f: Substrings, entry: Entry) -> Truth:
    attr = schema.attribute(f.attribute)
    if attr is None or not attr.has_substrings:
        return None
    fold = attr.rule is not Rule.CASE_EXACT_IA5
    pieces = [f.initial, *f.any, f.final]
    texts = [None if p is None else _text(p) for p in pieces]
    if any(t is None for t, p in zip(texts, pieces, strict=True) if p is not None):
        return None
    initial, *middle, final = (None if t is None else prepare_string(t, fold=fold) for t in texts)
    for value in entry.values(attr) or ():
        if _substrings_match(prepare_string(value, fold=fold), initial, middle, final):
            return True
    return False


def _substrings_match(
    value: str, initial: str | None, middle: list[str | None], final: str | None
) -> bool:
    pos, end = 0, len(value)
    if initial is not None:
        if not value.startswith(initial):
            return False
        pos = len(initial)
    if final is not None:
        if not value.endswith(final) or end - len(final) < pos:
            return False
        end -= len(final)
    for piece in middle:
        assert piece is not None
        found = value.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def _extensible(f: ExtensibleMatch, entry: Entry) -> Truth:
    rule = _RULES.get(f.matching_rule.lower()) if f.matching_rule else None
    if f.matching_rule and rule is None:
        return None  # unrecognised matching rule
    attrs: Iterable[schema.AttributeType]
    if f.attribute is not None:
        found = schema.attribute(f.attribute)
        if found is None:
            return None
        attrs = (found,)
    else:
        attrs = (a for name in entry.attrs if (a := schema.attribute(name)) is not None)
    results = [_extensible_on(rule, attr, f.value, entry) for attr in attrs]
    if f.dn_attributes:
        results.append(_on_dn(rule, f.attribute, f.value, entry))
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) and f.attribute is not None else False


def _extensible_on(
    rule: Rule | str | None, attr: schema.AttributeType, value: bytes, entry: Entry
) -> Truth:
    if rule is None:
        rule = attr.rule
    if rule in (BIT_AND, BIT_OR):
        if attr.rule is not Rule.INTEGER:
            return None
        mask = _assertion(attr, value)
        if not isinstance(mask, int):
            return None
        values = entry.prepared(attr)
        if rule == BIT_AND:
            return any(isinstance(v, int) and v & mask == mask for v in values)
        return any(isinstance(v, int) and v & mask != 0 for v in values)
    if rule == IN_CHAIN:
        # Keyhall's groups don't nest, so the transitive closure is the direct membership.
        if attr.rule not in _DN_RULES:
            return None
        rule = attr.rule
    assert isinstance(rule, Rule)
    if attr.rule is not rule and not (attr.rule in _STRING_RULES and rule in _STRING_RULES):
        return None  # the rule does not apply to this attribute's syntax
    text = _text(value)
    wanted = None if text is None else prepare(rule, text)
    if wanted is None:
        return None
    return any(prepare(rule, v) == wanted for v in entry.values(attr) or ())


def _on_dn(rule: Rule | str | None, attribute: str | None, value: bytes, entry: Entry) -> Truth:
    """RFC 4511 §4.5.1.7.7 dnAttributes: the entry's own DN components are matched too."""
    text = _text(value)
    if text is None or not entry.dn:
        return None
    use = rule if isinstance(rule, Rule) else Rule.CASE_IGNORE
    wanted = prepare(use, text)
    for rdn in parse_dn(entry.dn):
        for name, component in rdn:
            if attribute is not None and schema.attribute(name) != schema.attribute(attribute):
                continue
            if prepare(use, component) == wanted:
                return True
    return False


def _and(f: And, entry: Entry) -> Truth:
    result: Truth = True
    for item in f.filters:
        value = evaluate(item, entry)
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _or(f: Or, entry: Entry) -> Truth:
    result: Truth = False
    for item in f.filters:
        value = evaluate(item, entry)
        if value is True:
            return True
        if value is None:
            result = None
    return result


def _not(f: Not, entry: Entry) -> Truth:
    value = evaluate(f.filter, entry)
    return None if value is None else not value


_EVALUATORS: dict[type, Callable[[Filter, Entry], Truth]] = {
    And: _and,  # type: ignore[dict-item]
    Or: _or,  # type: ignore[dict-item]
    Not: _not,  # type: ignore[dict-item]
    EqualityMatch: _equality,  # type: ignore[dict-item]
    ApproxMatch: _equality,  # type: ignore[dict-item]
    GreaterOrEqual: _ordering,  # type: ignore[dict-item]
    LessOrEqual: _ordering,  # type: ignore[dict-item]
    Present: _present,  # type: ignore[dict-item]
    Substrings: _substrings,  # type: ignore[dict-item]
    ExtensibleMatch: _extensible,  # type: ignore[dict-item]
}


def evaluate(f: Filter, entry: Entry) -> Truth:
    return _EVALUATORS[type(f)](f, entry)


def matches(f: Filter, entry: Entry) -> bool:
    """Whether the entry is returned: only a TRUE filter selects it."""
    return evaluate(f, entry) is True


# -- narrowing by index ----------------------------------------------------------------------
def candidates(f: Filter, dit: Dit) -> list[Entry] | None:
    """Entries that could match `f` according to the indexes, or None if they can't tell."""
    found = narrow(f, dit)
    return None if found is None else found[0]


def narrow(f: Filter, dit: Dit) -> tuple[list[Entry], bool] | None:
    """`candidates`, and whether they are exactly the entries `f` is TRUE for.

    An equality item on an indexed attribute is answered by the index alone: the index holds
    the same prepared values `_equality` compares, so evaluating it again would only repeat
    the lookup. An Or of such items is exact too; an And is narrowed by its smallest item.
    """
    if isinstance(f, EqualityMatch | ApproxMatch):
        return _lookup(f.attribute, f.value, dit)
    if isinstance(f, ExtensibleMatch) and f.attribute and not f.dn_attributes:
        if f.matching_rule in (None, IN_CHAIN):
            found = _lookup(f.attribute, f.value, dit)
            # In-chain on a non-DN attribute is Undefined, which the index can't know.
            return None if found is None else (found[0], False)
        return None
    if isinstance(f, And):
        best: list[Entry] | None = None
        for item in f.filters:
            narrowed = narrow(item, dit)
            if narrowed is not None and (best is None or len(narrowed[0]) < len(best)):
                best = narrowed[0]
        if best is None:
            return None
        return best, False
    if isinstance(f, Or) and f.filters:
        union: dict[int, Entry] = {}
        exact = True
        for item in f.filters:
            narrowed = narrow(item, dit)
            if narrowed is None:
                return None
            exact = exact and narrowed[1]
            for entry in narrowed[0]:
                union[id(entry)] = entry
        if len(union) <= 1:
            return list(union.values()), exact
        return sorted(union.values(), key=lambda e: e.seq), exact
    return None


def _lookup(attribute: str, value: bytes, dit: Dit) -> tuple[list[Entry], bool] | None:
    attr = schema.attribute(attribute)
    if attr is None:
        return [], True  # Undefined: matches nothing in a positive position
    key = attr.key
    if key not in _INDEXED:
        return None
    wanted = _assertion(attr, value)
    if wanted is None:
        return [], True
    return dit.lookup(key, wanted), True


_INDEXED = frozenset(INDEXED)
