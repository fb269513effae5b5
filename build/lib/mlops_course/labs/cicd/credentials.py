"""Credentials written in plain text in a workflow, found by where they sit (a key that
names a password or token, a password on a command line) and by their shape (GitHub,
AWS, Docker Hub, Slack tokens, private keys)."""

from __future__ import annotations

import re
from typing import Any

_KEY_WORDS = re.compile(
    r"pass(word|wd)?|token|secret|api[_-]?key|credential|private[_-]?key|auth", re.IGNORECASE
)
_TOKEN_PATTERNS = [
    (re.compile(r"ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"), "a GitHub personal access token"),
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
    (re.compile(r"dckr_pat_[A-Za-z0-9_-]{10,}"), "a Docker Hub access token"),
    (re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
]
_CLI_PASSWORD = re.compile(r"(?:\s-p|--password)[\s=]+(?P<value>['\"]?[^\s'\"$][^\s'\"]*)")
SECRET_HINT = (
    "store it as an encrypted repository secret (Settings > Secrets and variables > "
    "Actions) and write `${{ secrets.REGISTRY_TOKEN }}` instead; a value once committed "
    "stays in the git history, so also rotate (revoke) the leaked one"
)


def hardcoded_credentials(doc: Any, text: str = "") -> list[str]:
    """Credentials written in plain text, each with where it is and what to do instead."""
    findings: list[str] = []

    def walk(node, path, parent_key=""):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key), str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]", parent_key)
        elif isinstance(node, (str, int, float)) and not isinstance(node, bool):
            value = str(node)
            if parent_key == "run":
                match = _CLI_PASSWORD.search(value)
                if match:
                    findings.append(
                        f"{path} passes a literal password on the command line "
                        f"({match.group('value')[:3]}...): {SECRET_HINT}; "
                        "pipe it in with `--password-stdin` from `${{ secrets.X }}`."
                    )
                return
            if (
                _KEY_WORDS.search(parent_key)
                and value.strip()
                and "${{" not in value
                and not value.strip().startswith("$")
            ):
                findings.append(f"{path} holds a literal credential ({value[:3]}...): {SECRET_HINT}.")

    walk(doc, "")
    for pattern, what in _TOKEN_PATTERNS:
        for match in pattern.finditer(text or ""):
            line = text.count("\n", 0, match.start()) + 1
            message = f"line {line} contains what looks like {what} ({match.group(0)[:6]}...): {SECRET_HINT}."
            if not any(match.group(0)[:3] in f for f in findings):
                findings.append(message)
    return findings
