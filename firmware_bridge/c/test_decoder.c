/*
 * Desktop test harness for cleartune_frame.h.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -o test_decoder test_decoder.c
 *   ./test_decoder [--synced] [--chunk N] < stream.bin
 *
 * Feeds stdin to the decoder one byte at a time and prints one line per decoded frame:
 *
 *   F <midi> <cents_x100> <confidence> <flags> <seq or -1> <note name> <cents text>
 *
 * and at the end "S <frames> <errors> <overflows> <skipped>".  Every body the decoder
 * judged is also decoded again from a heap copy of exactly its length (ct_decode_frame),
 * so that AddressSanitizer sees any read past its end; a different verdict exits 3.
 * ./test_decoder --names prints "N <midi> <name>" for 0..127 and "C <x100> <text>" for a
 * range of cents, to check the display helpers against Python.
 * ./test_decoder --selftest checks the CRC catalogue value and exits 0 or 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleartune_frame.h"

static int names(void)
{
    char name[5], cents[8];
    int m;
    long c;
    for (m = 0; m < 128; m++) {
        printf("N %d %s\n", m, ct_note_name((uint8_t)m, name));
    }
    printf("N 255 %s\n", ct_note_name(CT_NO_NOTE, name));
    for (c = -32767; c <= 32767; c += 1) {
        if (c > -1000 && c < 1000) {
            printf("C %ld %s\n", c, ct_format_cents((int16_t)c, cents));
        } else if (c % 97 == 0 || c == -32767 || c == 32767) {
            printf("C %ld %s\n", c, ct_format_cents((int16_t)c, cents));
        }
    }
    return 0;
}

static int selftest(void)
{
    static const uint8_t check[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    uint8_t out[4];
    static const uint8_t enc[4] = {0x01, 0x02, 0x11, 0x00}; /* malformed: 0x00 inside */
    int ok = 1;
    if (ct_crc16(check, sizeof check) != 0x29B1u) {
        fprintf(stderr, "crc check value wrong\n");
        ok = 0;
    }
    if (ct_cobs_decode(enc, sizeof enc, out, sizeof out) != -1) {
        fprintf(stderr, "malformed COBS accepted\n");
        ok = 0;
    }
    return ok ? 0 : 1;
}

/* Decode body[0..n) again from a heap block of exactly n bytes and compare with the
 * streaming decoder's verdict rc (and reading r when rc == CT_FRAME). */
static int exact_copy_agrees(const uint8_t *body, size_t n, int rc, const ct_reading *r)
{
    uint8_t *copy = (uint8_t *)malloc(n);
    ct_reading e;
    int rc2;
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, body, n);
    rc2 = ct_decode_frame(copy, n, &e);
    free(copy);
    if (rc2 != rc) {
        fprintf(stderr, "exact-length decode gave %d, stream decoder %d\n", rc2, rc);
        return 0;
    }
    if (rc == CT_FRAME && (e.version != r->version || e.midi != r->midi || e.cents_x100 != r->cents_x100 ||
                           e.confidence != r->confidence || e.flags != r->flags || e.seq != r->seq)) {
        fprintf(stderr, "exact-length decode gave another reading\n");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    ct_decoder dec;
    ct_reading r;
    int synced = 0, i;
    size_t chunk = 64;
    unsigned char buf[4096];
    size_t n;
    char name[5], cents[8];
    uint8_t body[CT_MAX_ENCODED];
    size_t blen = 0;
    int bover = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--synced") == 0) {
            synced = 1;
        } else if (strcmp(argv[i], "--names") == 0) {
            return names();
        } else if (strcmp(argv[i], "--selftest") == 0) {
            return selftest();
        } else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc) {
            chunk = (size_t)strtoul(argv[++i], NULL, 10);
            if (chunk == 0 || chunk > sizeof buf) {
                chunk = sizeof buf;
            }
        } else {
            fprintf(stderr, "usage: %s [--synced] [--chunk N] | --names | --selftest\n", argv[0]);
            return 2;
        }
    }
    ct_decoder_init(&dec, synced);
    memset(&r, 0xA5, sizeof r);
    while ((n = fread(buf, 1, chunk, stdin)) > 0) {
        size_t k;
        for (k = 0; k < n; k++) {
            int rc = ct_decoder_feed(&dec, buf[k], &r);
            if (rc == CT_FRAME) {
                printf("F %u %d %u %u %d %s %s\n", (unsigned)r.midi, (int)r.cents_x100, (unsigned)r.confidence,
                       (unsigned)r.flags, ct_has_seq(&r) ? (int)r.seq : -1, ct_note_name(r.midi, name),
                       ct_has_note(&r) ? ct_format_cents(r.cents_x100, cents) : "-");
            }
            if (buf[k] != 0u) {
                if (blen < sizeof body) {
                    body[blen++] = buf[k];
                } else {
                    bover = 1;
                }
            } else {
                if (!bover && blen > 0u && rc != CT_NONE && !exact_copy_agrees(body, blen, rc, &r)) {
                    return 3;
                }
                blen = 0u;
                bover = 0;
            }
        }
    }
    printf("S %lu %lu %lu %lu\n", (unsigned long)dec.frames, (unsigned long)dec.errors,
           (unsigned long)dec.overflows, (unsigned long)dec.skipped);
    return 0;
}
