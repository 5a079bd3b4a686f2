"""Write the key lists tests/test_deploy.py checks deploy/values.yaml against.

    python deploy/derive_keys.py chart values.schema.yaml "jupyterhub chart 4.4.0 ..." \
        > deploy/keys/jupyterhub-chart-4.4.0.txt
    python deploy/derive_keys.py traits "KubeSpawner 7.0.0 ..." kubespawner/spawner.py \
        jupyterhub/spawner.py:Spawner > deploy/keys/kubespawner-7.0.0.txt

`chart` walks the chart's values.schema.yaml (a JSON schema) and prints one key path per line:
`*` stands for any one key (a map the chart passes through, e.g. labels), `<regex>` for any key
matching it, and a path ending in `.**` means anything below it is free-form (traitlets config,
Kubernetes objects). Lists are leaves. `traits` prints the names of every configurable trait
(`config=True`) assigned in the classes (or the one class named) of the given Python sources. Both start with a `#` line
naming where they come from, so a new chart version means re-running this and the test.
"""

import ast
import sys

import yaml


def chart_paths(node: dict, path: str = ""):
    """Yield the key paths a values file may use below `path` in the schema `node`."""
    props = node.get("properties") or {}
    patterns = node.get("patternProperties") or {}
    extra = node.get("additionalProperties", not (props or patterns))
    types = node.get("type", "object" if props or patterns or "additionalProperties" in node else None)
    if "object" not in (types if isinstance(types, list) else [types]):
        return
    for key, sub in props.items():
        yield from _entry(f"{path}.{key}" if path else key, sub)
    for regex, sub in patterns.items():
        yield from _entry(f"{path}.{'*' if regex in ('.*', '^.*$') else '<' + regex + '>'}", sub)
    if extra is not False and path:
        yield f"{path}.**"


def _entry(path: str, sub: dict):
    yield path
    yield from chart_paths(sub, path)


def config_traits(source: str, only: str = ""):
    """Names assigned at class level (in class `only`, if given) to a call that is, or is tagged,
    `config=True`."""
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef) or only and cls.name != only:
            continue
        for stmt in cls.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                calls = [n for n in ast.walk(stmt.value) if isinstance(n, ast.Call)]
                if any(k.arg == "config" and getattr(k.value, "value", None) is True
                       for call in calls for k in call.keywords):
                    yield from (t.id for t in stmt.targets if isinstance(t, ast.Name))


def main(argv):
    kind, *rest = argv
    if kind == "chart":
        schema_file, origin = rest
        lines = chart_paths(yaml.safe_load(open(schema_file)))
    else:
        origin, *sources = rest
        # SOURCE or SOURCE:Class (only that class's traits)
        lines = {name for arg in sources for path, _, only in [arg.partition(":")]
                 for name in config_traits(open(path).read(), only)}
    print(f"# {origin}")
    print("\n".join(sorted(set(lines))))


if __name__ == "__main__":
    main(sys.argv[1:])
