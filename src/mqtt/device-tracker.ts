/**
 * Discovery of a device_tracker entity (a GPS receiver's position) for Home Assistant's MQTT
 * device_tracker platform.
 *
 * Home Assistant puts a tracker on its map and works out its zone (home, not_home, a zone's name) from
 * `latitude`/`longitude` attributes; `gps_accuracy` (metres) widens the circle a zone test allows. So the
 * config has no state topic at all (state_topic and value_template are deprecated for this platform:
 * they set a zone name directly): only `json_attributes_topic`, the device's state topic, with a template
 * that picks the entity's `{latitude, longitude, gps_accuracy}` out of the device's JSON.
 *
 * Without a fix the value is null and the template gives `{}`: Home Assistant keeps the last position it
 * had (an attribute set without coordinates changes nothing) instead of warning at every message, as it
 * does for null coordinates; the fix_quality sensor says there is no fix. A null gps_accuracy (no HDOP) is
 * left out, since Home Assistant warns about one that is not a number and takes it as 0.
 */
export function deviceTrackerConfig(stateTopic: string, key: string): Record<string, unknown> {
  return {
    json_attributes_topic: stateTopic,
    json_attributes_template: positionTemplate(key),
    source_type: "gps",
  };
}

/** The Jinja template that turns the device's JSON into the tracker's attributes. */
export function positionTemplate(key: string): string {
  return (
    `{% set p = value_json.${key} %}` +
    "{% if p is mapping and p.gps_accuracy is number %}{{ p | tojson }}" +
    "{% elif p is mapping %}{{ {'latitude': p.latitude, 'longitude': p.longitude} | tojson }}" +
    "{% else %}{}{% endif %}"
  );
}
