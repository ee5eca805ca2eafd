"""Reading a failing program's report: which rule it broke (the harness's
machine-readable `failure-rule: <family>` line first, then its `rule:
[<family>] text` line), else the sanitizer's or the runtime's error kind.
ci/replay.sh and the nightly's triage both ask here."""
import re

_FAILURE_RULE = re.compile(r"^\s*failure-rule:\s*(\S+)", re.M)
_RULE = re.compile(r"^\s*rule:\s*(?:\[([^\]]+)\]\s*)?(.*)$", re.M)
_KIND = re.compile(r"(ERROR: \w+Sanitizer: [\w-]+|runtime error: [^\n]*?(?= at|$)|fatal error: [^\n]+|"
                   r"gomap harness: [^\n(]+|ERROR: libFuzzer: [\w-]+)", re.M)


def family(text):
    """A short, stable name for what went wrong, or None."""
    m = _FAILURE_RULE.search(text)
    if m:
        return m.group(1)
    m = _RULE.search(text)
    if m and m.group(1):
        return m.group(1).strip()
    m = _KIND.search(text)
    if m:
        return m.group(1).strip()
    if "timeout after" in text:
        return "timeout"
    if "out-of-memory" in text:
        return "out-of-memory"
    return None


def rule_text(text):
    """The human sentence of the broken rule, or the error line."""
    m = _RULE.search(text)
    if m:
        return (f"[{m.group(1)}] " if m.group(1) else "") + m.group(2).strip()
    m = _KIND.search(text)
    return m.group(1).strip() if m else None
