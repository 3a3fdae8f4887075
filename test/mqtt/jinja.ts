/**
 * Renders a discovery config's template as Home Assistant's MQTT integration does with a message:
 * Jinja2 (the template engine Home Assistant runs, here Python's own in its immutable sandbox), with
 * `value` the payload and `value_json` the payload parsed as JSON. A stand-in for Home Assistant in one
 * respect: its `tojson` filter is its own (orjson); Jinja2's gives the same JSON for numbers and objects.
 * Needs python3 with Jinja2 (Debian's python3-jinja2).
 */
const RENDER = `
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
job = json.load(sys.stdin)
variables = {"value": job["payload"]}
try:
    variables["value_json"] = json.loads(job["payload"])
except ValueError:
    pass
sys.stdout.write(ImmutableSandboxedEnvironment().from_string(job["template"]).render(**variables))
`;

/** What `template` renders to for a message whose payload is `payload`. */
export async function renderTemplate(template: string, payload: string): Promise<string> {
  const proc = Bun.spawn(["python3", "-c", RENDER], { stdin: new Blob([JSON.stringify({ template, payload })]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`rendering ${template} failed: ${err}`);
  return out;
}
