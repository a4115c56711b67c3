"""What a service does at start-up, read from the project's own build and commands: the evidence
that a hardening fix keeps it working. Pure: the engine reads files (harden.engine.context puts
the start-up scripts a build copies on harden.dockerfile.build.Build.scripts); this package reads
text and documents.

- `shell`: shell text (scripts, Dockerfile shell and exec forms, Compose `command:` and
  `entrypoint:`, `sh -c` strings) into observations with file and line; `words` is its lexer.
- `image`: USER, ENTRYPOINT, CMD, ENV and copied files of the stage Compose builds, through its
  FROM chain.
- `runtime`: the entry point, `of_service(name, service, context) -> Runtime`: the knowledge
  entry of the image (or of the build's base image), the user, the capabilities and writable
  paths derived from observations, and what could not be read. Example::

      from harden.evidence.runtime import of_service
      runtime = of_service("web", service_mapping, context)   # context: harden.passes.Context
      for capability, seen in runtime.needs_caps.items():
          print(capability, [f"{o.where} {o.text}" for o in seen])   # SETUID ['docker-entrypoint.sh:12 exec gosu app "$@"']
      runtime.tmpfs             # ('/run',): runtime directories written at start-up
      runtime.blocks_read_only  # writes into directories the image ships files in, with the reason
"""
