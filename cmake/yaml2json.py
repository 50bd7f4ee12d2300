"""docs/openapi.yaml to the JSON that deprovd serves at /openapi.json:
yaml2json.py IN OUT. Strict where YAML is lax, so that the JSON says what the
YAML seems to say: a key given twice, and a value JSON cannot hold (a date
written without quotes), stop the build instead of being dropped or
changed. OUT is only rewritten when its text changes."""

import json
import os
import sys

import yaml


class StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader, node):
    loader.flatten_mapping(node)
    out = {}
    for k, v in node.value:
        key = loader.construct_object(k, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, "key %r given twice" % (key,), k.start_mark)
        # YAML 1.1 reads `on`, `yes`, `null` as other things than strings.
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise yaml.constructor.ConstructorError(
                None, None, "key %r is not a string (quote it)" % (key,), k.start_mark)
        out[key] = loader.construct_object(v, deep=True)
    return out


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def main(src, dst):
    with open(src, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=StrictLoader)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        sys.exit("%s: not an OpenAPI 3.1 document" % src)
    try:
        # Status codes are integers in YAML; JSON keys are strings anyway.
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        sys.exit("%s: %s (quote it)" % (src, e))
    try:
        with open(dst, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(dst + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(dst + ".tmp", dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: yaml2json.py IN.yaml OUT.json")
    main(sys.argv[1], sys.argv[2])
