#include "crabbitmq.h"

#include <stdlib.h>
#include <string.h>

amqp_rpc_reply_t crabbitmq_login_plain(amqp_connection_state_t state, const char *vhost,
                                       int channel_max, int frame_max, int heartbeat,
                                       const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN,
                      user, password);
}

void crabbitmq_send_close_ok(amqp_connection_state_t state, amqp_channel_t channel, int connection) {
    if (connection) {
        amqp_connection_close_ok_t reply;
        amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &reply);
    } else {
        amqp_channel_close_ok_t reply;
        amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &reply);
    }
}

struct crabbitmq_table {
    amqp_table_entry_t *entries;
    int count;
    int capacity;
};

crabbitmq_table *crabbitmq_table_create(void) {
    return calloc(1, sizeof(crabbitmq_table));
}

static amqp_table_entry_t *crabbitmq_table_append(crabbitmq_table *table, const char *key) {
    if (table->count == table->capacity) {
        int capacity = table->capacity ? table->capacity * 2 : 8;
        amqp_table_entry_t *grown = realloc(table->entries, sizeof(amqp_table_entry_t) * capacity);
        if (grown == NULL) {
            return NULL;
        }
        table->entries = grown;
        table->capacity = capacity;
    }
    char *copy = strdup(key);
    if (copy == NULL) {
        return NULL;
    }
    amqp_table_entry_t *entry = &table->entries[table->count];
    memset(entry, 0, sizeof *entry);
    entry->key.bytes = copy;
    entry->key.len = strlen(copy);
    return entry;
}

int crabbitmq_table_add_string(crabbitmq_table *table, const char *key, const char *value) {
    char *copy = strdup(value);
    amqp_table_entry_t *entry = copy == NULL ? NULL : crabbitmq_table_append(table, key);
    if (entry == NULL) {
        free(copy);
        return -1;
    }
    entry->value.kind = AMQP_FIELD_KIND_UTF8;
    entry->value.value.bytes.bytes = copy;
    entry->value.value.bytes.len = strlen(copy);
    table->count++;
    return 0;
}

int crabbitmq_table_add_int64(crabbitmq_table *table, const char *key, int64_t value) {
    amqp_table_entry_t *entry = crabbitmq_table_append(table, key);
    if (entry == NULL) {
        return -1;
    }
    entry->value.kind = AMQP_FIELD_KIND_I64;
    entry->value.value.i64 = value;
    table->count++;
    return 0;
}

amqp_table_t crabbitmq_table_view(const crabbitmq_table *table) {
    amqp_table_t view;
    view.num_entries = table->count;
    view.entries = table->entries;
    return view;
}

void crabbitmq_table_destroy(crabbitmq_table *table) {
    if (table == NULL) {
        return;
    }
    for (int i = 0; i < table->count; i++) {
        free(table->entries[i].key.bytes);
        if (table->entries[i].value.kind == AMQP_FIELD_KIND_UTF8) {
            free(table->entries[i].value.value.bytes.bytes);
        }
    }
    free(table->entries);
    free(table);
}
