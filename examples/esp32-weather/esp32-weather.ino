// An ESP32 with a BME280 and a relay, as someone might write it without hearth in mind: one JSON
// object a second on the USB serial port, and two commands without ids ("RELAY 1", "RELAY 0"), each
// answered with one JSON line. Its hearth model is esp32-weather.yaml beside this file.
#include <Adafruit_BME280.h>

Adafruit_BME280 bme;
const int RELAY_PIN = 26;
bool relay = false;

void setup() {
  Serial.begin(115200);
  bme.begin(0x76);
  pinMode(RELAY_PIN, OUTPUT);
}

void loop() {
  static unsigned long last = 0;
  if (Serial.available()) {
    String command = Serial.readStringUntil('\n');
    command.trim();
    if (command == "RELAY 1" || command == "RELAY 0") {
      relay = command.endsWith("1");
      digitalWrite(RELAY_PIN, relay ? HIGH : LOW);
      Serial.printf("{\"ok\":true,\"relay\":%s}\n", relay ? "true" : "false");
    } else {
      Serial.println("{\"ok\":false,\"error\":\"unknown_command\"}");
    }
  }
  if (millis() - last >= 1000) {
    last = millis();
    Serial.printf("{\"sensors\":{\"bme280\":{\"temp\":%.2f,\"hum\":%.1f,\"pressure\":%.0f}},\"relay\":%s,\"uptime_ms\":%lu}\n",
                  bme.readTemperature(), bme.readHumidity(), bme.readPressure(), relay ? "true" : "false", millis());
  }
}
