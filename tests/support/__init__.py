"""Helpers shared by the unit and integration tests (importable as ``support``: pytest puts
``tests/`` on ``sys.path`` because ``tests/conftest.py`` sits in a folder without
``__init__.py``)."""
