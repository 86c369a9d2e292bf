"""Diagnostics placed at a node of a loaded file, by the path of keys and indexes to it."""

from __future__ import annotations

from modelreg.catalog.yaml_loader import YamlDocument
from modelreg.diagnostics import Diagnostic, Severity


def at_node(doc: YamlDocument, path: list[str | int], code: str, message: str, *, key: bool = False,
        severity: Severity = Severity.ERROR) -> Diagnostic:
    line, column = doc.locate(path, key=key)
    return Diagnostic(doc.file, line, column, code, message, severity)


def node_path(path: str) -> list[str | int]:
    steps: list[str | int] = ["capabilities"]
    for i, part in enumerate(path.split(".")):
        if i:
            steps.append("children")
        steps.append(part)
    return steps
