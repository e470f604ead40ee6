/* Frames and fields (docs/keeper-protocol.md): a frame's payload is NUL-terminated
 * fields, the type first, then key=value. Parsing never copies: fields point into the
 * payload, which the caller keeps until the message is handled. */
#include "keeper.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool key_valid(const char *key, size_t length)
{
    if (length == 0 || key[0] < 'a' || key[0] > 'z')
        return false;
    for (size_t i = 1; i < length; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

const char *message_parse(char *payload, size_t length, struct message *out, struct field *storage, size_t capacity)
{
    if (length == 0 || payload[length - 1] != '\0')
        return "the frame does not end with a NUL byte";
    out->type = payload;
    out->fields = storage;
    out->count = 0;
    size_t type_length = strlen(payload);
    if (!key_valid(payload, type_length))
        return "the message type is not a lower-case word";
    for (char *p = payload + type_length + 1; p < payload + length; p += strlen(p) + 1) {
        char *eq = strchr(p, '=');
        if (eq == NULL)
            return "a field has no '='";
        if (!key_valid(p, (size_t)(eq - p)))
            return "a field's key is not a lower-case word";
        if (out->count == capacity)
            return "too many fields";
        storage[out->count].key = p; /* compared up to its '=': see key_is */
        storage[out->count].value = eq + 1;
        out->count++;
    }
    return NULL;
}

/* Keys are compared up to their '=' (the payload keeps its bytes as sent). */
static bool key_is(const char *field, const char *key)
{
    size_t n = strlen(key);
    return strncmp(field, key, n) == 0 && field[n] == '=';
}

const char *message_get(const struct message *m, const char *key)
{
    for (size_t i = m->count; i-- > 0;)
        if (key_is(m->fields[i].key, key))
            return m->fields[i].value;
    return NULL;
}

bool message_number(const struct message *m, const char *key, long long min, long long max, long long *out)
{
    const char *text = message_get(m, key);
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

bool out_room(const struct outbuf *o)
{
    return o->capacity - o->length >= MAX_OUT_MESSAGE;
}

void out_begin(struct outbuf *o, const char *type)
{
    o->start = o->length;
    o->length += 4;
    out_field(o, NULL, type);
}

/* Appends one field, cut to what the message may still hold (MAX_OUT_MESSAGE in all). */
void out_field(struct outbuf *o, const char *key, const char *value)
{
    size_t limit = o->start + MAX_OUT_MESSAGE - 1; /* one byte is kept for the last NUL */
    size_t key_length = key == NULL ? 0 : strlen(key) + 1;
    if (o->length + key_length + 1 > limit)
        return;
    if (key != NULL) {
        memcpy(o->data + o->length, key, key_length - 1);
        o->data[o->length + key_length - 1] = '=';
        o->length += key_length;
    }
    size_t n = strlen(value);
    if (o->length + n > limit - 1)
        n = limit - 1 - o->length;
    memcpy(o->data + o->length, value, n);
    o->length += n;
    o->data[o->length++] = '\0';
}

void out_fieldf(struct outbuf *o, const char *key, const char *format, ...)
{
    char text[MAX_OUT_MESSAGE];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    out_field(o, key, text);
}

void out_end(struct outbuf *o)
{
    uint32_t n = (uint32_t)(o->length - o->start - 4);
    unsigned char *p = (unsigned char *)o->data + o->start;
    p[0] = (unsigned char)n;
    p[1] = (unsigned char)(n >> 8);
    p[2] = (unsigned char)(n >> 16);
    p[3] = (unsigned char)(n >> 24);
}
