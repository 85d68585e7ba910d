"""A fake `oci` and `fn` for running the rendered scripts without a tenancy.

Each call is checked against tests/deploy/cli_reference.py (command, options, required options,
fixed choices) as the real CLI would refuse it (exit 2), then acts on a JSON state file: a list
prints the OCID of what matches (nothing when nothing does, exit 0, as `--query ... --raw-output`
does), a create adds (refused with 409 where OCI names must be unique), an update or delete needs
the OCID to exist. The references between pieces are checked too: a policy file must be readable
and hold no placeholder, the rule, the schedule and the log must name what exists. FAKE_CLI_FAIL
makes the first call of one command fail, as a partial run would.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from tests.deploy.cli_reference import (
    CHOICES,
    FN_COMMANDS,
    FN_CONTEXT_KEYS,
    GLOBAL_OPTIONS,
    OPTIONS,
    REQUIRED,
)

FLAGS = frozenset({"raw-output", "force", "all", "no-bump", "verbose", "no-cache", "local", "create-app"})
# What finds a piece of each kind (the options its list and create share), and its OCID option.
KEYS = {
    "ons topic": (("compartment-id", "name"), "topic-id"),
    "ons subscription": (("topic-id", "subscription-endpoint"), "subscription-id"),
    "iam dynamic-group": (("name",), "dynamic-group-id"),
    "iam policy": (("compartment-id", "name"), "policy-id"),
    "fn application": (("compartment-id", "display-name"), "application-id"),
    "fn function": (("application-id", "display-name"), "function-id"),
    "logging log-group": (("compartment-id", "display-name"), "log-group-id"),
    "logging log": (("log-group-id", "display-name"), "log-id"),
    "events rule": (("compartment-id", "display-name"), "rule-id"),
    "resource-scheduler schedule": (("compartment-id", "display-name"), "schedule-id"),
    "monitoring alarm": (("compartment-id", "display-name"), "alarm-id"),
}
# OCI refuses a second one of these with the same name; rules, schedules and alarms it does not.
UNIQUE = frozenset(
    {"ons topic", "iam dynamic-group", "iam policy", "fn application", "logging log-group", "logging log"}
)
PLACEHOLDER = "createdbycommandssh"


class Refused(Exception):
    """The call fails: `code` is the exit status, the message goes to stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def main(program: str, argv: list[str]) -> int:
    """Run one fake CLI call; its exit status."""
    path = Path(os.environ["FAKE_CLI_STATE"])
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    state.setdefault("pieces", {})
    state.setdefault("calls", [])
    state.setdefault("contexts", [])
    try:
        words, options = _parse(argv)
        command = " ".join(words)
        state["calls"].append([program, command, options])
        fail = os.environ.get("FAKE_CLI_FAIL")
        if fail == f"{program} {command}" and not state.get("failed"):
            state["failed"] = True
            raise Refused(1, f"ServiceError: 500 InternalServerError (injected into {command})")
        output = (_oci if program == "oci" else _fn)(state, words, options)
    except Refused as refused:
        print(refused, file=sys.stderr)
        return refused.code
    finally:
        path.write_text(json.dumps(state, indent=1))
    if output:
        print(output)
    return 0


def _parse(argv: list[str]) -> tuple[list[str], dict[str, Any]]:
    words: list[str] = []
    options: dict[str, Any] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if token.startswith("--"):
            name = token[2:]
            if name in FLAGS:
                options[name] = True
            else:
                if index + 1 >= len(argv):
                    raise Refused(2, f"Error: Option '--{name}' requires an argument.")
                options[name] = argv[index + 1]
                index += 1
        else:
            words.append(token)
        index += 1
    return words, options


def _check_usage(words: list[str], options: dict[str, Any]) -> str:
    """The command, if the real CLI would run it: its name, options, required options and choices."""
    command = " ".join(words[:3])
    if command not in OPTIONS or len(words) != 3:
        raise Refused(2, f"Error: No such command: oci {' '.join(words)}")
    unknown = set(options) - OPTIONS[command] - GLOBAL_OPTIONS
    if unknown:
        raise Refused(2, f"Error: No such option: --{sorted(unknown)[0]} ({command})")
    missing = REQUIRED.get(command, frozenset()) - set(options)
    if missing:
        raise Refused(2, f"Error: Missing option(s) --{', --'.join(sorted(missing))}")
    for name, value in options.items():
        allowed = CHOICES.get((command, name))
        if allowed is not None and value not in allowed:
            raise Refused(
                2, f"Error: Invalid value for '--{name}': {value!r} is not one of {sorted(allowed)}"
            )
    return command


def _oci(state: dict[str, Any], words: list[str], options: dict[str, Any]) -> str:
    command = _check_usage(words, options)
    if command == "os ns get":
        return "examplenamespace"
    kind, verb = " ".join(words[:2]), words[2]
    (key_options, id_option) = KEYS[kind]
    pieces: dict[str, Any] = state["pieces"]
    if verb == "list":
        if "query" not in options or "raw-output" not in options:
            raise Refused(
                2, f"a lookup without --query ... --raw-output prints JSON, not an OCID ({command})"
            )
        key = _key(kind, key_options, options)
        found = [ocid for ocid, piece in pieces.items() if piece["kind"] == kind and piece["key"] == key]
        return found[0] if found else ""
    if verb == "create":
        key = _key(kind, key_options, options)
        if kind in UNIQUE and any(p["kind"] == kind and p["key"] == key for p in pieces.values()):
            raise Refused(1, f"ServiceError: 409 Conflict: a {kind} named {key[-1]} already exists")
        _check_references(state, kind, options)
        state["counter"] = state.get("counter", 0) + 1
        ocid = f"ocid1.{kind.split()[-1].replace('-', '')}.oc1.phx.fake{state['counter']:04d}"
        pieces[ocid] = {"kind": kind, "key": key, "options": options}
        # The logging creates answer a work request; waited for, the output is the work request.
        return json.dumps({"data": {"status": "SUCCEEDED"}}) if "wait-for-state" in options else ocid
    if verb in ("update", "delete"):
        ocid = options[id_option]
        if ocid not in pieces or pieces[ocid]["kind"] != kind:
            raise Refused(1, f"ServiceError: 404 NotAuthorizedOrNotFound: {kind} {ocid}")
        if verb == "delete":
            del pieces[ocid]
        else:
            _check_references(state, kind, options)
            pieces[ocid]["options"].update(options)
        return ""
    raise Refused(2, f"the fake does not know {command}")


def _key(kind: str, key_options: tuple[str, ...], options: dict[str, Any]) -> list[str]:
    if kind == "ons subscription" and "subscription-endpoint" not in options:
        # The lookup names the address in its query: data[?endpoint=='...'].
        match = re.search(r"endpoint=='([^']+)'", str(options.get("query", "")))
        options = {**options, "subscription-endpoint": match.group(1) if match else None}
    if kind == "iam dynamic-group":
        return [str(options.get("name"))]
    return [str(options.get(name)) for name in key_options]


def _check_references(state: dict[str, Any], kind: str, options: dict[str, Any]) -> None:
    """The ids and files a create or update names must exist, as OCI would check them."""
    pieces = state["pieces"]

    def exists(ocid: object, of: str) -> None:
        if ocid not in pieces or pieces[ocid]["kind"] != of:
            raise Refused(1, f"ServiceError: 404 NotAuthorizedOrNotFound: {of} {ocid} (named by {kind})")

    if "statements" in options:
        text = Path(str(options["statements"]).removeprefix("file://")).read_text(encoding="utf-8")
        statements = json.loads(text)
        if not statements or PLACEHOLDER in text:
            raise Refused(1, f"ServiceError: 400 InvalidParameter: statements {text[:200]}")
        options["statements"] = statements
    if kind == "ons subscription":
        exists(options["topic-id"], "ons topic")
    if kind == "logging log":
        exists(json.loads(options["configuration"])["source"]["resource"], "fn application")
    if kind == "events rule" and "actions" in options:
        for action in json.loads(options["actions"])["actions"]:
            exists(action["functionId"], "fn function")
    if kind == "resource-scheduler schedule" and "resources" in options:
        for resource in json.loads(options["resources"]):
            exists(resource["id"], "fn function")
    if kind == "monitoring alarm" and "destinations" in options:
        for topic in json.loads(options["destinations"]):
            exists(topic, "ons topic")


def _fn(state: dict[str, Any], words: list[str], options: dict[str, Any]) -> str:
    command = next((name for name in FN_COMMANDS if words[: len(name.split())] == name.split()), None)
    if command is None:
        raise Refused(2, f"fn: no such command {' '.join(words)}")
    unknown = set(options) - FN_COMMANDS[command]
    if unknown:
        raise Refused(2, f"fn {command}: flag provided but not defined: -{sorted(unknown)[0]}")
    args = words[len(command.split()) :]
    if command.endswith(" context"):
        _context(state, command, args)
    elif command == "deploy":
        apps = [
            o
            for o, p in state["pieces"].items()
            if p["kind"] == "fn application" and p["key"][1] == options["app"]
        ]
        if not apps:
            raise Refused(1, f"app {options['app']} not found")
        key = [apps[0], "backup-copy"]
        if not any(p["kind"] == "fn function" and p["key"] == key for p in state["pieces"].values()):
            state["counter"] = state.get("counter", 0) + 1
            state["pieces"][f"ocid1.fnfunc.oc1.phx.fake{state['counter']:04d}"] = {
                "kind": "fn function",
                "key": key,
                "options": {},
            }
    elif command == "config function":
        app, function, name, _ = args
        state.setdefault("config", {})[name] = args[3]
        if not any(p["kind"] == "fn function" and p["key"][1] == function for p in state["pieces"].values()):
            raise Refused(1, f"function {app}/{function} not found")
    return ""


def _context(state: dict[str, Any], command: str, args: list[str]) -> None:
    if command == "create context":
        if args[0] in state["contexts"]:
            raise Refused(1, f"Context {args[0]} already exists")
        state["contexts"].append(args[0])
    elif command == "use context":
        if args[0] not in state["contexts"]:
            raise Refused(1, f"Context {args[0]} does not exist")
        state["context"] = args[0]
    elif "context" not in state or args[0] not in FN_CONTEXT_KEYS or len(args) != 2:
        raise Refused(1, f"fn update context {args}: no current context, or not a key the kit sets")
