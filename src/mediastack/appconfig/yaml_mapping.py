"""Read an app's YAML config file as a mapping, for the generators that merge into one."""

from __future__ import annotations

from typing import Any

import yaml

from mediastack.appconfig.errors import ForeignFileError


def load_mapping(text: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> dict[str, Any]:
    """Given a YAML file's text, return its top-level mapping (empty for an empty file);
    raise ForeignFileError when it is not YAML or not a mapping (the writer leaves it alone).
    ``loader`` must be SafeLoader or a subclass (recyclarr's adds ``!env_var``)."""
    try:
        document = yaml.load(text, Loader=loader)  # SafeLoader or a subclass: safe
    except yaml.YAMLError as error:
        raise ForeignFileError(f"it is not valid YAML ({error}); fix or delete it") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ForeignFileError("it is not a YAML mapping; fix or delete it")
    return document
