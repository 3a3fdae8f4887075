"""Renders Home Assistant discovery templates with real Jinja2, as Home Assistant's MQTT entities do.

Reads JSON from stdin: {"templates": [{"id": ..., "template": ...}], "payloads": ["<state message>", ...]}
and writes one result per template and payload: {"id", "payload", "ok", "result" or "error"}.

Home Assistant's semantics (homeassistant/helpers/template, MqttValueTemplate): the template sees the
message as `value` and, when it is JSON, the parsed message as `value_json`; the output is stripped. Its
sandboxed environment logs a warning for every undefined value a template uses: here any use of an
undefined value is an error (StrictUndefined), so a template that would make Home Assistant warn fails.
"""

import json
import sys

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
request = json.load(sys.stdin)
results = []
for item in request["templates"]:
    template = env.from_string(item["template"])
    for index, payload in enumerate(request["payloads"]):
        variables = {"value": payload}
        try:
            variables["value_json"] = json.loads(payload)
        except ValueError:
            pass
        try:
            results.append({"id": item["id"], "payload": index, "ok": True, "result": template.render(variables).strip()})
        except Exception as error:  # any failure to render is what the test reports
            results.append({"id": item["id"], "payload": index, "ok": False, "error": f"{type(error).__name__}: {error}"})
json.dump(results, sys.stdout)
