// CRdKafka: librdkafka (Debian librdkafka-dev 2.0.2) for Swift.
//
// The variadic librdkafka calls (rd_kafka_producev) cannot be called from Swift, so the few we
// need are wrapped here as static inline functions.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// Enqueue one message, copying key, value and headers (RD_KAFKA_MSG_F_COPY).
/// `headers` (may be NULL) is owned by librdkafka on success and by the caller on failure.
/// `key` may be NULL (no key). `opaque` is delivered back as the message's `_private`.
static inline rd_kafka_resp_err_t keel_produce(rd_kafka_t *rk,
                                               const char *topic,
                                               const void *key,
                                               size_t key_len,
                                               const void *value,
                                               size_t value_len,
                                               rd_kafka_headers_t *headers,
                                               void *opaque) {
    if (headers) {
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}
