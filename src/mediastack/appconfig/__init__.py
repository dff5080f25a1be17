"""The apps' own config files, written before their first start.

One small pure generator per app (inputs -> file content; an existing file is merged: our
keys set, everything else kept) and one writer (``mediastack.appconfig.write``): plan the
files, then apply them only where the app is stopped.

This package's ``__init__`` imports nothing on purpose: ``mediastack.config.apps`` imports
``trash_profiles`` from here, and the writer imports ``mediastack.config``.
"""
