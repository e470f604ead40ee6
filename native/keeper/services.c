/* The table of services. A slot lives as long as its name is in use; what the server
 * has not been told yet is a set of flags per slot and a queue of slots, so a server
 * that reads slowly (or not at all) costs a bounded amount of memory. Lookups are
 * linear over a cached hash: a few thousand services cost microseconds. */
#include "keeper.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t hash_of(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

struct service *service_find(struct services *t, const char *name)
{
    uint32_t h = hash_of(name);
    for (size_t i = 0; i < t->count; i++)
        if (t->slots[i].name != NULL && t->slots[i].hash == h && strcmp(t->slots[i].name, name) == 0)
            return &t->slots[i];
    return NULL;
}

static void slot_init(struct service *s)
{
    memset(s, 0, sizeof *s);
    s->exec_fd = s->ready_fd = s->notify_fd = s->reload.exec_fd = s->main_fd = -1;
    s->out_read = s->out_write = -1;
    s->err_read = s->err_write = -1;
    s->cgroup_dir = -1;
    s->events_wd = -1;
    s->log.fd = -1;
    s->notice.mainpid = -1;
}

struct service *service_add(struct services *t, const char *name)
{
    char *copy = strdup(name);
    if (copy == NULL)
        return NULL;
    struct service *s = NULL;
    for (size_t i = 0; i < t->count && s == NULL; i++)
        if (t->slots[i].name == NULL && !t->slots[i].queued)
            s = &t->slots[i];
    if (s == NULL) {
        if (t->count == t->capacity) {
            size_t capacity = t->capacity == 0 ? 64 : t->capacity * 2;
            struct service *slots = realloc(t->slots, capacity * sizeof *slots);
            if (slots == NULL) {
                free(copy);
                return NULL;
            }
            t->slots = slots;
            /* The ring is laid out again from its head: positions depend on the capacity. */
            size_t *queue = malloc(capacity * sizeof *queue);
            if (queue == NULL) {
                free(copy);
                return NULL;
            }
            for (size_t i = 0; i < t->queue_length; i++)
                queue[i] = t->queue[(t->queue_head + i) % t->capacity];
            free(t->queue);
            t->queue = queue;
            t->queue_head = 0;
            t->capacity = capacity;
        }
        s = &t->slots[t->count++];
    }
    slot_init(s);
    s->name = copy;
    s->hash = hash_of(name);
    return s;
}

struct service *service_by_pid(struct services *t, pid_t pid)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->slots[i].name != NULL && t->slots[i].pid == pid)
            return &t->slots[i];
    return NULL;
}

struct service *service_by_reload(struct services *t, pid_t pid)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->slots[i].name != NULL && t->slots[i].reload.pid == pid)
            return &t->slots[i];
    return NULL;
}

size_t service_index(const struct services *t, const struct service *s)
{
    return (size_t)(s - t->slots);
}

void service_mark(struct services *t, struct service *s, unsigned what)
{
    s->pending |= what;
    if (s->queued)
        return;
    s->queued = true;
    /* The queue is a ring of capacity slots: a slot is in it at most once. */
    t->queue[(t->queue_head + t->queue_length) % t->capacity] = service_index(t, s);
    t->queue_length++;
}

bool service_live(const struct service *s)
{
    return s->pid != 0 || s->finishing;
}

bool service_busy(const struct service *s)
{
    return service_live(s) || s->reload.pid != 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void service_release(struct service *s)
{
    close_fd(&s->exec_fd);
    close_fd(&s->reload.exec_fd);
    close_fd(&s->ready_fd);
    close_fd(&s->main_fd);
    close_fd(&s->notify_fd);
    if (s->notify_path != NULL)
        unlink(s->notify_path);
    free(s->notify_path);
    s->notify_path = NULL;
    close_fd(&s->out_read);
    close_fd(&s->out_write);
    close_fd(&s->err_read);
    close_fd(&s->err_write);
    log_close(&s->log);
    listen_close(s, -1);
    free(s->listen_error);
    s->listen_error = NULL;
    free(s->failure);
    s->failure = NULL;
    free(s->reload.failure);
    s->reload.failure = NULL;
    free(s->refusal);
    s->refusal = NULL;
    free(s->notice.status);
    s->notice.status = NULL;
}
