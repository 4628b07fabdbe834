"""Reading the config file's YAML strictly: a mistake must become a one-line error naming the
key, not a traceback, a silently ignored duplicate, or gigabytes spent expanding aliases."""
from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1 << 20  # a config for thousands of accounts is a few hundred KB
MAX_DEPTH = 32  # Polo's deepest key is 4 levels down; PyYAML's composer recurses per level


class YamlProblem(Exception):
    def __init__(self, key: str, problem: str):
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}" if key else problem)


class _Loader(yaml.SafeLoader):
    """SafeLoader where a timestamp-looking scalar that is no date (2025-13-01) stays a string,
    for the config check to name its key."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _child(path: str, frame: dict) -> str:
    if frame["map"]:
        return f"{path}.{frame['key']}" if path else str(frame["key"])
    return f"{path}[{frame['index']}]"


def _check_events(text: str) -> None:
    """One pass over the parser's events, tracking each node's key path: refuse aliases (an
    alias bomb expands exponentially), duplicate keys (YAML keeps the last silently) and
    nesting deeper than MAX_DEPTH (the composer would raise RecursionError, after a long parse)."""
    stack: list[dict] = []  # {"path", "map", "keys": key -> line, "key", "index"}
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            _next(stack)
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        line = event.start_mark.line + 1 if event.start_mark else 0
        frame = stack[-1] if stack else None
        if frame is not None and frame["map"] and frame["key"] is None:  # a mapping key
            if not isinstance(event, yaml.ScalarEvent):
                raise YamlProblem(frame["path"], f"line {line}: keys must be plain strings")
            key = event.value
            if key in frame["keys"]:
                frame["key"] = key
                raise YamlProblem(_child(frame["path"], frame),
                                  f"duplicate key (lines {frame['keys'][key]} and {line})")
            frame["keys"][key], frame["key"] = line, key
            continue
        path = "" if frame is None else _child(frame["path"], frame)
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(path, f"line {line}: YAML aliases (*{event.anchor}) are not supported")
        if isinstance(event, yaml.CollectionStartEvent) and len(stack) >= MAX_DEPTH:
            raise YamlProblem(path, f"line {line}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(event, yaml.MappingStartEvent):
            stack.append({"path": path, "map": True, "keys": {}, "key": None, "index": 0})
        elif isinstance(event, yaml.SequenceStartEvent):
            stack.append({"path": path, "map": False, "keys": {}, "key": None, "index": 0})
        else:
            _next(stack)


def _next(stack: list[dict]) -> None:
    """A value is complete: its parent moves on to the next key or item."""
    if stack:
        if stack[-1]["map"]:
            stack[-1]["key"] = None
        else:
            stack[-1]["index"] += 1


def load_yaml(text: str) -> Any:
    """The document, or YamlProblem; yaml.YAMLError for syntax errors."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise YamlProblem("", "is larger than 1 MiB")
    _check_events(text)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
