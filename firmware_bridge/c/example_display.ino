/*
 * example_display.ino - show cleartune's note and cents on a 16x2 character LCD.
 *
 * The Pi runs:   cleartune run --output serial:/dev/ttyUSB0 --wire binary --baud 115200
 * (or /dev/serial0 wired to this board's RX through a level shifter: the Pi is 3.3 V).
 *
 * Hardware: any Arduino-compatible board, an HD44780 16x2 LCD in 4-bit mode
 * (RS=12, E=11, D4=5, D5=4, D6=3, D7=2, as in the LiquidCrystal examples), optional LED
 * on pin 13 lit while in tune.  Copy cleartune_frame.h into the sketch folder.
 *
 *   +----------------+
 *   |A2   -3.1c  conf|   note, cents, confidence bar (0..4 blocks)
 *   |    ---|<      |   needle: '|' is the centre (in tune), '<'/'>' the pitch
 *   +----------------+
 *
 * With no frame for NO_SIGNAL_MS the display shows "waiting for Pi".
 */
#include <LiquidCrystal.h>

#include "cleartune_frame.h"

static const long BAUD = 115200;
static const unsigned long NO_SIGNAL_MS = 1500;  /* [ms] */
static const int LED_IN_TUNE = 13;
static const int FULL_SCALE_X100 = 5000;         /* needle end = 50 cents */

LiquidCrystal lcd(12, 11, 5, 4, 3, 2);
static ct_decoder dec;
static ct_reading reading;
static unsigned long last_frame_ms = 0;
static int waiting_shown = 0;

static void pad_print(const char *s, int width)
{
    int n = 0;
    while (s[n] != '\0' && n < width) {
        lcd.print(s[n]);
        n++;
    }
    while (n++ < width) {
        lcd.print(' ');
    }
}

static void show(const ct_reading *r)
{
    char name[5], cents[8], row[17];
    int i, pos;
    lcd.setCursor(0, 0);
    if (!ct_has_note(r)) {
        pad_print("-", 16);
        lcd.setCursor(0, 1);
        pad_print("", 16);
        digitalWrite(LED_IN_TUNE, LOW);
        return;
    }
    ct_note_name(r->midi, name);
    ct_format_cents(r->cents_x100, cents);
    pad_print(name, 4);
    pad_print(cents, 7);
    lcd.print('c');
    for (i = 0; i < 4; i++) {                     /* confidence: 4 blocks */
        lcd.print(r->confidence > (uint8_t)(i * 64) ? (char)0xFF : ' ');
    }
    /* needle: column 7 is the centre, +-7 columns = +-FULL_SCALE_X100 */
    pos = 7 + (int)((long)r->cents_x100 * 7L / FULL_SCALE_X100);
    if (pos < 0) pos = 0;
    if (pos > 15) pos = 15;
    for (i = 0; i < 16; i++) {
        row[i] = ' ';
    }
    for (i = (pos < 7 ? pos : 7); i <= (pos > 7 ? pos : 7); i++) {
        row[i] = '-';
    }
    row[7] = '|';
    row[pos] = ct_in_tune(r) ? '*' : (pos < 7 ? '<' : (pos > 7 ? '>' : '|'));
    row[16] = '\0';
    lcd.setCursor(0, 1);
    lcd.print(row);
    digitalWrite(LED_IN_TUNE, ct_in_tune(r) ? HIGH : LOW);
}

void setup()
{
    pinMode(LED_IN_TUNE, OUTPUT);
    lcd.begin(16, 2);
    lcd.print("cleartune");
    Serial.begin(BAUD);
    ct_decoder_init(&dec, 0);  /* may start mid-frame: sync on the first 0x00 */
    last_frame_ms = millis();
}

void loop()
{
    while (Serial.available() > 0) {
        int b = Serial.read();
        if (b < 0) {
            break;
        }
        if (ct_decoder_feed(&dec, (uint8_t)b, &reading) == CT_FRAME) {
            show(&reading);
            last_frame_ms = millis();
            waiting_shown = 0;
        }
    }
    if (!waiting_shown && millis() - last_frame_ms > NO_SIGNAL_MS) {
        lcd.setCursor(0, 0);
        pad_print("waiting for Pi", 16);
        lcd.setCursor(0, 1);
        pad_print("", 16);
        digitalWrite(LED_IN_TUNE, LOW);
        waiting_shown = 1;
    }
}
