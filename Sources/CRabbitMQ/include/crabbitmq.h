// Gradeline's shim over rabbitmq-c: what Swift cannot call or name directly.
//
// amqp_login is variadic and the method ids are macros with casts. Only the Messaging target
// imports this module.
#ifndef GRADELINE_CRABBITMQ_H
#define GRADELINE_CRABBITMQ_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// amqp_login with PLAIN authentication, which Swift cannot call because it is variadic.
amqp_rpc_reply_t crabbitmq_login_plain(amqp_connection_state_t state, const char *vhost,
                                       int channel_max, int frame_max, int heartbeat,
                                       const char *user, const char *password);

// Method ids, which amqp_framing.h defines as macros with casts.
static const amqp_method_number_t crabbitmq_basic_deliver = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t crabbitmq_basic_ack = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t crabbitmq_basic_nack = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t crabbitmq_basic_return = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t crabbitmq_basic_cancel = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t crabbitmq_channel_close = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t crabbitmq_connection_close = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t crabbitmq_connection_blocked = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t crabbitmq_connection_unblocked = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_method_number_t crabbitmq_channel_close_ok = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t crabbitmq_connection_close_ok = AMQP_CONNECTION_CLOSE_OK_METHOD;

/// Answers a broker's connection.close or channel.close, as the protocol requires.
void crabbitmq_send_close_ok(amqp_connection_state_t state, amqp_channel_t channel, int connection);

#ifdef __cplusplus
}
#endif

#endif
