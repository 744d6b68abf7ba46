/*
 * cleartune_frame.h - decoder for cleartune's binary reading frames (wire version 1).
 *
 * Header-only C99 (also compiles as C++ for Arduino sketches).  No malloc, no stdio, no
 * floating point; feed it one byte at a time from a UART.  Specification:
 * firmware_bridge/WIRE_FORMAT.md.  In short, a frame on the wire is
 *
 *     COBS( payload | crc16_le ) 0x00
 *
 *     payload[0]   version     uint8   = 1
 *     payload[1]   midi        uint8   0..127, 0xFF = no note
 *     payload[2:4] cents_x100  int16   little-endian, cents * 100, clamped to +-32767
 *     payload[4]   confidence  uint8   0..255 (= confidence * 255)
 *     payload[5]   flags       uint8   bit0 in tune, bit1 no signal, bit2 clamped, bit3 seq
 *     payload[6]   seq         uint8   present only when flags bit3 is set
 *     crc16        CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0)
 *                  over the payload, little-endian
 *
 * Usage:
 *
 *     ct_decoder dec;
 *     ct_reading r;
 *     ct_decoder_init(&dec, 0);              // 0: not synchronised, skip to the first 0x00
 *     while (uart_available()) {
 *         if (ct_decoder_feed(&dec, uart_read(), &r) == CT_FRAME) show(&r);
 *     }
 *
 * A receiver that starts mid-stream drops bytes until the next 0x00; a corrupted frame is
 * rejected (CRC, COBS structure, length, version or field check) and the next one decodes.
 */
#ifndef CLEARTUNE_FRAME_H
#define CLEARTUNE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CT_WIRE_VERSION 1u
#define CT_NO_NOTE 0xFFu

#define CT_FLAG_IN_TUNE 0x01u
#define CT_FLAG_NO_SIGNAL 0x02u
#define CT_FLAG_CLAMPED 0x04u
#define CT_FLAG_HAS_SEQ 0x08u
#define CT_FLAGS_KNOWN 0x0Fu

#define CT_PAYLOAD_LEN 6u   /* without the sequence byte */
#define CT_CRC_LEN 2u
#define CT_MAX_PAYLOAD 7u
#define CT_MAX_ENCODED 10u  /* longest COBS body without the 0x00 delimiter */

/* Results of ct_decoder_feed / ct_decode_frame. */
#define CT_NONE 0           /* byte consumed, no frame completed */
#define CT_FRAME 1          /* *out holds a new reading */
#define CT_ERR_COBS (-1)    /* malformed COBS block */
#define CT_ERR_LENGTH (-2)  /* too short, too long or length does not match flags */
#define CT_ERR_CRC (-3)     /* CRC mismatch */
#define CT_ERR_VERSION (-4) /* unknown wire version */
#define CT_ERR_FIELD (-5)   /* unknown flag bits or MIDI note > 127 */
#define CT_ERR_OVERFLOW (-6) /* run of bytes longer than any frame; dropped to next 0x00 */

typedef struct {
    uint8_t version;
    uint8_t midi;        /* 0..127, or CT_NO_NOTE */
    int16_t cents_x100;  /* [cents * 100]; 0 when no note */
    uint8_t confidence;  /* 0..255 */
    uint8_t flags;       /* CT_FLAG_* */
    uint8_t seq;         /* valid only when flags & CT_FLAG_HAS_SEQ */
} ct_reading;

typedef struct {
    uint8_t buf[CT_MAX_ENCODED];
    uint8_t len;
    uint8_t synced;      /* a delimiter has been seen */
    uint8_t overflow;    /* dropping bytes until the next delimiter */
    uint32_t frames;     /* good frames */
    uint32_t errors;     /* bad frames (COBS, length, CRC, version, fields) */
    uint32_t overflows;  /* runs longer than CT_MAX_ENCODED */
    uint32_t skipped;    /* bytes dropped before the first delimiter */
} ct_decoder;

/* CRC-16/CCITT-FALSE, bitwise (no table: 30 bytes of flash). */
static inline uint16_t ct_crc16_update(uint16_t crc, uint8_t byte)
{
    uint8_t i;
    crc = (uint16_t)(crc ^ (uint16_t)((uint16_t)byte << 8));
    for (i = 0; i < 8u; i++) {
        if (crc & 0x8000u) {
            crc = (uint16_t)((uint16_t)(crc << 1) ^ 0x1021u);
        } else {
            crc = (uint16_t)(crc << 1);
        }
    }
    return crc;
}

static inline uint16_t ct_crc16(const uint8_t *data, size_t n)
{
    uint16_t crc = 0xFFFFu;
    size_t i;
    for (i = 0; i < n; i++) {
        crc = ct_crc16_update(crc, data[i]);
    }
    return crc;
}

/* COBS-decode n bytes (no delimiter) into out (capacity cap).  Returns the decoded length,
 * or -1 for a malformed block or an output that does not fit. */
static inline int ct_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        size_t end;
        if (code == 0u) {
            return -1;
        }
        end = i + (size_t)code - 1u;
        if (end > n) {
            return -1;
        }
        while (i < end) {
            if (in[i] == 0u || o >= cap) {
                return -1;
            }
            out[o++] = in[i++];
        }
        if (code < 0xFFu && i < n) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0u;
        }
    }
    return (int)o;
}

/* Parse a payload whose CRC has been checked.  Returns CT_FRAME or a CT_ERR_* code. */
static inline int ct_parse_payload(const uint8_t *p, size_t n, ct_reading *out)
{
    uint8_t flags;
    size_t want;
    if (n < CT_PAYLOAD_LEN) {
        return CT_ERR_LENGTH;
    }
    if (p[0] != CT_WIRE_VERSION) {
        return CT_ERR_VERSION;
    }
    flags = p[5];
    want = CT_PAYLOAD_LEN + ((flags & CT_FLAG_HAS_SEQ) ? 1u : 0u);
    if (n != want) {
        return CT_ERR_LENGTH;
    }
    if (flags & (uint8_t)~CT_FLAGS_KNOWN) {
        return CT_ERR_FIELD;
    }
    if (p[1] != CT_NO_NOTE && p[1] > 127u) {
        return CT_ERR_FIELD;
    }
    out->version = p[0];
    out->midi = p[1];
    out->cents_x100 = (int16_t)(uint16_t)((uint16_t)p[2] | (uint16_t)((uint16_t)p[3] << 8));
    out->confidence = p[4];
    out->flags = flags;
    out->seq = (flags & CT_FLAG_HAS_SEQ) ? p[6] : 0u;
    return CT_FRAME;
}

/* Decode one COBS body (the bytes between two 0x00 delimiters). */
static inline int ct_decode_frame(const uint8_t *body, size_t n, ct_reading *out)
{
    uint8_t raw[CT_MAX_ENCODED];
    int len;
    uint16_t crc;
    size_t plen;
    if (n > CT_MAX_ENCODED) {
        return CT_ERR_LENGTH;
    }
    len = ct_cobs_decode(body, n, raw, sizeof raw);
    if (len < 0) {
        return CT_ERR_COBS;
    }
    if ((size_t)len < CT_PAYLOAD_LEN + CT_CRC_LEN) {
        return CT_ERR_LENGTH;
    }
    plen = (size_t)len - CT_CRC_LEN;
    crc = (uint16_t)((uint16_t)raw[plen] | (uint16_t)((uint16_t)raw[plen + 1u] << 8));
    if (crc != ct_crc16(raw, plen)) {
        return CT_ERR_CRC;
    }
    return ct_parse_payload(raw, plen, out);
}

/* synced = 0 for a receiver that may start mid-frame (bytes before the first 0x00 are
 * skipped), 1 if it is known to start at a frame boundary. */
static inline void ct_decoder_init(ct_decoder *d, int synced)
{
    size_t i;
    for (i = 0; i < CT_MAX_ENCODED; i++) {
        d->buf[i] = 0u;
    }
    d->len = 0u;
    d->synced = synced ? 1u : 0u;
    d->overflow = 0u;
    d->frames = 0u;
    d->errors = 0u;
    d->overflows = 0u;
    d->skipped = 0u;
}

/* Feed one byte.  Returns CT_FRAME when *out holds a new reading, CT_NONE while a frame is
 * still incomplete, or a negative CT_ERR_* when a bad frame was dropped (informative only:
 * just keep feeding).  *out is written only on CT_FRAME. */
static inline int ct_decoder_feed(ct_decoder *d, uint8_t byte, ct_reading *out)
{
    int rc = CT_NONE;
    if (byte != 0u) {
        if (!d->synced) {
            d->skipped++;
        } else if (!d->overflow) {
            if (d->len >= CT_MAX_ENCODED) {
                d->overflow = 1u;
                d->overflows++;
                d->len = 0u;
                rc = CT_ERR_OVERFLOW;
            } else {
                d->buf[d->len++] = byte;
            }
        }
        return rc;
    }
    if (!d->synced) {
        d->synced = 1u;
    } else if (d->overflow) {
        d->overflow = 0u;
    } else if (d->len > 0u) {
        ct_reading tmp;
        rc = ct_decode_frame(d->buf, d->len, &tmp);
        if (rc == CT_FRAME) {
            *out = tmp;
            d->frames++;
        } else {
            d->errors++;
        }
    }
    d->len = 0u;
    return rc;
}

/* Accessors. */
static inline int ct_has_note(const ct_reading *r) { return r->midi != CT_NO_NOTE; }
static inline int ct_in_tune(const ct_reading *r) { return (r->flags & CT_FLAG_IN_TUNE) != 0u; }
static inline int ct_has_seq(const ct_reading *r) { return (r->flags & CT_FLAG_HAS_SEQ) != 0u; }

/* Note name with sharps and octave ("A2", "C#4", "C-1"); out needs 5 bytes.  "-" if none. */
static inline const char *ct_note_name(uint8_t midi, char out[5])
{
    static const char letters[12] = {'C', 'C', 'D', 'D', 'E', 'F', 'F', 'G', 'G', 'A', 'A', 'B'};
    static const uint8_t sharp[12] = {0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0};
    uint8_t pc, i = 0;
    int octave;
    if (midi > 127u) {
        out[0] = '-';
        out[1] = '\0';
        return out;
    }
    pc = (uint8_t)(midi % 12u);
    octave = (int)(midi / 12u) - 1;
    out[i++] = letters[pc];
    if (sharp[pc]) {
        out[i++] = '#';
    }
    if (octave < 0) {
        out[i++] = '-';
        octave = -octave;
    }
    out[i++] = (char)('0' + octave);
    out[i] = '\0';
    return out;
}

/* Cents with sign and one decimal, rounded half away from zero ("-3.1", "+0.0",
 * "+327.7"); out needs 8 bytes. */
static inline const char *ct_format_cents(int16_t cents_x100, char out[8])
{
    int32_t v = cents_x100;
    int32_t tenths;
    char digits[6];
    uint8_t n = 0, i = 0;
    int neg = v < 0;
    if (neg) {
        v = -v;
    }
    tenths = (v + 5) / 10;
    if (tenths == 0) {
        neg = 0;
    }
    out[i++] = neg ? '-' : '+';
    do {
        digits[n++] = (char)('0' + (tenths % 10));
        tenths /= 10;
    } while (tenths > 0 && n < sizeof digits);
    if (n == 1u) {
        digits[n++] = '0';
    }
    while (n > 1u) {
        out[i++] = digits[--n];
    }
    out[i++] = '.';
    out[i++] = digits[0];
    out[i] = '\0';
    return out;
}

#endif /* CLEARTUNE_FRAME_H */
