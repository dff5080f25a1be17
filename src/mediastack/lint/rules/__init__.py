"""The lint rules, one small pure function each: ``(ComposeProject) -> Iterator[Violation]``.
Their ids, severities and descriptions live in one table, ``mediastack.lint.registry``."""
