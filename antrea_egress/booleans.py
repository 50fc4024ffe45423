"""The one way this project reads an on/off setting: true or false, nothing else.

Stack keys (`antrea-egress:natMode`, `cluster.manage`, `nsxt:allowUnverifiedSsl`, ...) and the
NSXT_* environment fallbacks all go through `parse_boolean`, so a value is accepted the same
way wherever it is written. Pulumi hands a YAML boolean over as the string "true" or "false";
a stack file parsed here may give a Python bool. Anything else is refused rather than guessed:
"yes", "on" and "1" mean true to some readers (YAML 1.1, pydantic, Go's strconv.ParseBool)
and are plain strings to others (the Pulumi CLI's YAML 1.2, `pulumi.Config.get_bool`), so a
value that one reader takes for true must not silently become false, or an error, in another.
"""

from __future__ import annotations

from typing import Final

_WORDS: Final = {"true": True, "false": False}


def parse_boolean(value: object) -> bool:
    """A bool, or the string "true" or "false". Raises ValueError naming what was given."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _WORDS:
        return _WORDS[value]
    raise ValueError(f"must be true or false, got {_shown(value)}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
