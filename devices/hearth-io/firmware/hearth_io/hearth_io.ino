// hearth-io firmware: a DHT22 temperature/humidity sensor, a push button, two relays and a dimmable
// LED, spoken to over the serial port with the line protocol in ../../README.md.
//
// Wiring (Arduino Uno/Nano pin numbers; change below for other boards):
//   DHT22 data -> D2 (with a 10k pull-up), button -> D3 to GND (internal pull-up),
//   relay 1 -> D7, relay 2 -> D8 (active high), LED -> D9 (PWM) through a resistor.
// Needs no library: the DHT22 is read by a routine of its own (readDht22, below), so the sketch builds
// with Debian's packaged toolchain alone (see Makefile) as well as in the Arduino IDE and arduino-cli.

#include <Arduino.h>
#include <avr/wdt.h>

// Prototypes: the Arduino IDE writes these itself, arduino-mk does not.
void applyOutputs();
void readSensor();
void readButton();
void sendTelemetry();
void readSerial();
void handleLine(char* text);
void handleSet(const char* id);
bool readDht22(float* temperature, float* humidity);

#ifndef HEARTH_IO_VERSION
#define HEARTH_IO_VERSION "1.0.0"  // `make FIRMWARE_VERSION=x.y.z` builds another (the Makefile defines this)
#endif
static const char FIRMWARE_VERSION[] = HEARTH_IO_VERSION;
static const uint8_t PIN_DHT = 2;
static const uint8_t PIN_BUTTON = 3;
static const uint8_t PIN_RELAY1 = 7;
static const uint8_t PIN_RELAY2 = 8;
static const uint8_t PIN_LED = 9;
static const uint8_t MAX_LINE = 64;
static const unsigned long DEBOUNCE_MS = 30;
static const unsigned long SENSOR_PERIOD_MS = 2000;  // the DHT22 needs 2 s between reads

char line[MAX_LINE + 1];
uint8_t lineLength = 0;
bool lineTooLong = false;

unsigned long telemetryInterval = 5000;
unsigned long lastTelemetry = 0;
unsigned long lastSensorRead = 0;
float temperature = NAN;
float humidity = NAN;

bool relay1 = false;
bool relay2 = false;
uint8_t led = 0;

bool button = false;
bool buttonReading = false;
unsigned long buttonChangedAt = 0;

void setup() {
  // After a watchdog reset (RESET) the watchdog stays on until its reset flag is cleared, and would
  // restart the board every 15 ms: clear the flag, then turn the watchdog off.
  MCUSR = 0;
  wdt_disable();
  Serial.begin(115200);
  pinMode(PIN_BUTTON, INPUT_PULLUP);
  pinMode(PIN_RELAY1, OUTPUT);
  pinMode(PIN_RELAY2, OUTPUT);
  pinMode(PIN_LED, OUTPUT);
  applyOutputs();
  pinMode(PIN_DHT, INPUT_PULLUP);  // the bus idles high
  Serial.print(F("HELLO hearth-io fw="));
  Serial.print(FIRMWARE_VERSION);
  Serial.println(F(" proto=1"));
}

void loop() {
  readSerial();
  readButton();
  unsigned long now = millis();
  if (now - lastSensorRead >= SENSOR_PERIOD_MS) {
    lastSensorRead = now;
    readSensor();
  }
  if (now - lastTelemetry >= telemetryInterval) sendTelemetry();
}

void applyOutputs() {
  digitalWrite(PIN_RELAY1, relay1 ? HIGH : LOW);
  digitalWrite(PIN_RELAY2, relay2 ? HIGH : LOW);
  analogWrite(PIN_LED, led);
}

// Loop turns while the DHT22's line stays at `level`, or 0 when it stays longer than any pulse of the
// protocol (the sensor is absent or stopped answering). Counted with interrupts off, so only the ratio
// of two counts means anything: a bit is 1 when its high lasts longer than the low before it.
static uint16_t pulse(uint8_t level) {
  uint16_t count = 0;
  while (digitalRead(PIN_DHT) == level) {
    if (++count >= 1000) return 0;
  }
  return count;
}

// Reads the DHT22 (AM2302): the host pulls the line low for 1.1 ms or more, the sensor answers with 80 µs
// low and 80 µs high, then sends 40 bits, each 50 µs low and then 26–28 µs (a 0) or 70 µs (a 1) high:
// humidity ×10, temperature ×10 (top bit: below zero), and a checksum, the low byte of the sum of the
// four. False when it does not answer or the checksum fails: the reading is then "nan".
bool readDht22(float* temperature, float* humidity) {
  uint8_t data[5] = {0, 0, 0, 0, 0};
  uint16_t lows[40];
  uint16_t highs[40];
  pinMode(PIN_DHT, OUTPUT);
  digitalWrite(PIN_DHT, LOW);
  delay(2);
  pinMode(PIN_DHT, INPUT_PULLUP);
  delayMicroseconds(40);
  noInterrupts();
  bool answered = pulse(HIGH) != 0 || digitalRead(PIN_DHT) == LOW;
  answered = answered && pulse(LOW) != 0 && pulse(HIGH) != 0;
  for (uint8_t i = 0; answered && i < 40; i++) {
    lows[i] = pulse(LOW);
    highs[i] = pulse(HIGH);
    if (lows[i] == 0 || highs[i] == 0) answered = false;
  }
  interrupts();
  if (!answered) return false;
  for (uint8_t i = 0; i < 40; i++) {
    if (highs[i] > lows[i]) data[i / 8] |= 0x80 >> (i % 8);
  }
  if ((uint8_t)(data[0] + data[1] + data[2] + data[3]) != data[4]) return false;
  *humidity = ((data[0] << 8) | data[1]) / 10.0;
  float t = (((data[2] & 0x7F) << 8) | data[3]) / 10.0;
  *temperature = (data[2] & 0x80) ? -t : t;
  return true;
}

void readSensor() {
  float t = NAN;
  float h = NAN;
  if (!readDht22(&t, &h)) {
    t = NAN;
    h = NAN;
  }
  bool changed = (isnan(t) != isnan(temperature)) || fabs(t - temperature) >= 0.1 || fabs(h - humidity) >= 0.1;
  temperature = t;
  humidity = h;
  if (changed) sendTelemetry();
}

void readButton() {
  bool reading = digitalRead(PIN_BUTTON) == LOW;
  unsigned long now = millis();
  if (reading != buttonReading) {
    buttonReading = reading;
    buttonChangedAt = now;
  }
  if (reading != button && now - buttonChangedAt >= DEBOUNCE_MS) {
    button = reading;
    Serial.print(F("E btn="));
    Serial.println(button ? 1 : 0);
  }
}

void printFloat(float value) {
  if (isnan(value)) Serial.print(F("nan"));
  else Serial.print(value, 1);
}

void printFields() {
  Serial.print(F(" temp="));
  printFloat(temperature);
  Serial.print(F(" hum="));
  printFloat(humidity);
  Serial.print(F(" btn="));
  Serial.print(button ? 1 : 0);
  Serial.print(F(" r1="));
  Serial.print(relay1 ? 1 : 0);
  Serial.print(F(" r2="));
  Serial.print(relay2 ? 1 : 0);
  Serial.print(F(" led="));
  Serial.print(led);
  Serial.print(F(" up="));
  Serial.print(millis() / 1000);
}

void sendTelemetry() {
  lastTelemetry = millis();
  Serial.print('T');
  printFields();
  Serial.println();
}

void readSerial() {
  while (Serial.available() > 0) {
    char c = Serial.read();
    if (c == '\r') continue;
    if (c == '\n') {
      line[lineLength] = '\0';
      if (lineTooLong) Serial.println(F("ERR - too_long line over 64 bytes"));
      else if (lineLength > 0) handleLine(line);
      lineLength = 0;
      lineTooLong = false;
      continue;
    }
    if (lineLength < MAX_LINE) line[lineLength++] = c;
    else lineTooLong = true;
  }
}

void reply(const char* status, const char* id) {
  Serial.print(status);
  Serial.print(' ');
  Serial.print(id);
}

void fail(const char* id, const __FlashStringHelper* code, const char* detail) {
  reply("ERR", id);
  Serial.print(' ');
  Serial.print(code);
  Serial.print(' ');
  Serial.println(detail);
}

// Digits only: strtol alone would also take a sign ("+1", "-0") and leading spaces.
bool parseNumber(const char* text, long minimum, long maximum, long* out) {
  if (*text == '\0') return false;
  for (const char* c = text; *c != '\0'; c++) {
    if (!isdigit(*c)) return false;
  }
  long value = strtol(text, NULL, 10);
  if (value < minimum || value > maximum) return false;
  *out = value;
  return true;
}

void handleLine(char* text) {
  char* id = strtok(text, " ");
  char* command = strtok(NULL, " ");
  long idValue;
  if (id == NULL || !parseNumber(id, 1, 65535, &idValue)) {
    Serial.println(F("ERR - no_id a command starts with an id 1-65535"));
    return;
  }
  if (command == NULL) {
    fail(id, F("bad_command"), "missing command");
  } else if (strcmp(command, "PING") == 0) {
    reply("OK", id);
    Serial.println(F(" pong"));
  } else if (strcmp(command, "GET") == 0) {
    reply("OK", id);
    printFields();
    Serial.println();
  } else if (strcmp(command, "SET") == 0) {
    handleSet(id);
  } else if (strcmp(command, "INTERVAL") == 0) {
    long ms;
    char* arg = strtok(NULL, " ");
    if (arg == NULL || !parseNumber(arg, 500, 3600000L, &ms)) {
      fail(id, F("bad_value"), "interval must be 500-3600000 ms");
      return;
    }
    telemetryInterval = ms;
    reply("OK", id);
    Serial.print(F(" interval="));
    Serial.println(ms);
  } else if (strcmp(command, "RESET") == 0) {
    reply("OK", id);
    Serial.println();
    Serial.flush();
    wdt_enable(WDTO_15MS);  // the watchdog restarts the board; setup() then sends HELLO
    for (;;) {}
  } else {
    fail(id, F("bad_command"), command);
  }
}

void handleSet(const char* id) {
  // Validate every pair before applying any, so a bad line changes nothing.
  char* pairs[4];
  uint8_t count = 0;
  for (char* pair = strtok(NULL, " "); pair != NULL; pair = strtok(NULL, " ")) {
    if (count == 4) {
      fail(id, F("bad_field"), "too many fields");
      return;
    }
    pairs[count++] = pair;
  }
  if (count == 0) {
    fail(id, F("bad_field"), "nothing to set");
    return;
  }
  long values[4];
  for (uint8_t i = 0; i < count; i++) {
    char* eq = strchr(pairs[i], '=');
    if (eq == NULL) {
      fail(id, F("bad_field"), pairs[i]);
      return;
    }
    *eq = '\0';
    const char* key = pairs[i];
    long maximum;
    if (strcmp(key, "r1") == 0 || strcmp(key, "r2") == 0) maximum = 1;
    else if (strcmp(key, "led") == 0) maximum = 255;
    else {
      fail(id, F("bad_field"), key);
      return;
    }
    if (!parseNumber(eq + 1, 0, maximum, &values[i])) {
      fail(id, F("bad_value"), key);
      return;
    }
  }
  reply("OK", id);
  for (uint8_t i = 0; i < count; i++) {
    const char* key = pairs[i];
    if (strcmp(key, "r1") == 0) relay1 = values[i] == 1;
    else if (strcmp(key, "r2") == 0) relay2 = values[i] == 1;
    else led = (uint8_t)values[i];
    Serial.print(' ');
    Serial.print(key);
    Serial.print('=');
    Serial.print(values[i]);
  }
  Serial.println();
  applyOutputs();
  sendTelemetry();
}
