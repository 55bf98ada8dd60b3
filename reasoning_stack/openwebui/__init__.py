"""Open WebUI's room: everything the stack knows and does about it, module by module (each sits at its own layer of
the import contract in pyproject.toml, so this file imports none of them).

- ``paths``: where its unit, env files and admin helpers live on a host;
- ``entries``: what it is told about the models (task model, model entries, defaults, cloud connections, keys);
- ``database``: SQLite, or PostgreSQL with Redis, and the ``openwebui-db`` helper;
- ``service``: its unit and env file, and the files its helpers read (``host_files``);
- ``mac``: its launchd job on a Mac;
- ``operations``: the pyinfra operations that talk to its admin API and database;
- ``after_start``: the steps around its start, one for every platform (secrets; sign-up policy, model entries,
  cloud check);
- ``deploy``: the ``open_webui`` ``@deploy`` of a Linux host;
- ``usage``: ``reasoning-stack usage``, from its record of model calls.

Its settings are defined and validated with the others, in ``reasoning_stack/settings/openwebui.py`` and
``settings/webui_database.py``.
"""
