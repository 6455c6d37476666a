#include "crabbitmq.h"

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
