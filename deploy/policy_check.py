"""Policy statements parsed by oci-lexer-parser, and whether they grant a given need.

The evaluation is deliberately conservative: a variable the request does not carry makes its clause
false, and anything this module cannot evaluate (compartment names, patterns) grants nothing, so a
check passes only when the statements surely grant. A tenancy-wide location covers every compartment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from oci_lexer_parser import parse_policy_statements

from deploy.permissions import VERBS, Need, granted_permissions, known_permissions


class PolicySyntaxError(ValueError):
    """A statement OCI's grammar (as oci-lexer-parser implements it) does not accept."""


@dataclass(frozen=True)
class Statement:
    """One statement, as written and as parsed."""

    text: str
    parsed: Mapping[str, Any]


def parse(text: str) -> Statement:
    """Parse exactly one Allow statement; PolicySyntaxError says what is wrong."""
    try:
        payload = cast("dict[str, Any]", parse_policy_statements(text, error_mode="raise"))
    except ValueError as exc:
        raise PolicySyntaxError(f"{exc}: {text}") from None
    statements = payload["statements"]
    if len(statements) != 1:
        raise PolicySyntaxError(f"expected one statement, found {len(statements)}: {text}")
    parsed = statements[0]
    if parsed.get("kind") != "allow":
        raise PolicySyntaxError(f"expected an Allow statement: {text}")
    return Statement(text, parsed)


def parse_all(texts: Iterable[str]) -> list[Statement]:
    """Parse each statement on its own, so an error points at the statement that caused it."""
    return [parse(text) for text in texts]


def grants(statement: Statement, need: Need) -> bool:
    """Whether `statement` surely allows `need`."""
    parsed = statement.parsed
    return (
        _subject_matches(parsed["subject"], need)
        and _location_covers(parsed["location"], need)
        and parsed["resources"] == {"type": "specific", "values": [need.resource_type]}
        and _action_covers(parsed["actions"], need)
        and _holds(parsed.get("conditions"), need)
    )


def missing(statements: Sequence[Statement], needs: Iterable[Need]) -> list[Need]:
    """The needs no statement grants."""
    return [need for need in needs if not any(grants(statement, need) for statement in statements)]


def unused(statements: Sequence[Statement], needs: Sequence[Need]) -> list[Statement]:
    """The statements that grant none of the needs: granted for nothing the function does."""
    return [statement for statement in statements if not any(grants(statement, need) for need in needs)]


def _location_covers(location: Mapping[str, Any], need: Need) -> bool:
    if location.get("type") == "tenancy":
        return True
    return bool(location == {"type": "compartment-id", "values": [need.compartment_id]})


def _subject_matches(subject: Mapping[str, Any], need: Need) -> bool:
    principal = need.principal
    if subject.get("type") != principal.kind:
        return False
    if principal.kind == "any-user":
        # Narrowed by the conditions (request.principal.*), which _holds evaluates.
        return bool(subject.get("values") == [])
    wanted = {"label": principal.name}
    if principal.domain:
        wanted["identity_domain"] = principal.domain
    return bool(subject.get("values") == [wanted])


def _action_covers(actions: Mapping[str, Any], need: Need) -> bool:
    values = [str(value) for value in actions.get("values", [])]
    if actions.get("type") == "verbs" and len(values) == 1 and values[0] in VERBS:
        verb = values[0]
        if need.permission is not None and need.resource_type in _DOCUMENTED:
            return need.permission in granted_permissions(need.resource_type, verb)
        return VERBS.index(verb) >= VERBS.index(need.verb)
    if actions.get("type") == "permissions" and need.permission is not None:
        named = {value.upper() for value in values}
        return need.permission in named and named <= known_permissions(need.resource_type)
    return False


_DOCUMENTED = frozenset(
    {"boot-volume-backups", "volume-backups", "volume-group-backups", "volumes", "ons-topics"}
)


def _holds(condition: Mapping[str, Any] | None, need: Need) -> bool:
    if condition is None:
        return True
    variables = dict(need.context)
    if need.permission is not None:
        variables["request.permission"] = need.permission
    return _evaluate(condition, variables)


def _evaluate(node: Mapping[str, Any], variables: Mapping[str, str]) -> bool:
    if node["type"] == "group":
        results = (_evaluate(item, variables) for item in node["items"])
        return all(results) if node["mode"] == "all" else any(results)
    clause = node["node"]
    actual = variables.get(clause["lhs"])
    if actual is None:
        return False
    op: str = clause["op"]
    rhs: Mapping[str, Any] = clause.get("rhs", {})
    if op in ("eq", "neq") and rhs.get("type") in ("literal", "ocid"):
        return bool(actual == rhs["value"]) == (op == "eq")
    if op in ("in", "not_in") and rhs.get("type") == "list":
        listed = {value["value"] for value in rhs["values"] if value.get("type") in ("literal", "ocid")}
        if len(listed) != len(rhs["values"]):
            return False
        return bool(actual in listed) == (op == "in")
    return False
