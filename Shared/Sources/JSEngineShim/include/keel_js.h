// C interface to the SpiderMonkey embedding used by Keel's user transformations.
//
// Threading: kjs_process_start() once per process; each kjs_context is bound to the thread that
// created it and every call taking it must come from that thread. kjs_process_stop() after every
// context has been freed (it is also registered with atexit and is a no-op the second time).
#ifndef KEEL_JS_H
#define KEEL_JS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kjs_context kjs_context;
typedef struct kjs_realm kjs_realm;

/// Initialises SpiderMonkey for the process (JS_Init and a parent runtime on a dedicated thread).
/// Idempotent; returns 0 on success. After kjs_process_stop() it fails forever.
int kjs_process_start(void);
/// Shuts SpiderMonkey down (JS_ShutDown) if it was started and no context is alive.
void kjs_process_stop(void);

/// Error categories reported per input.
enum {
    KJS_ERROR_EXCEPTION = 1,  ///< the transformation threw or its promise rejected
    KJS_ERROR_TIMEOUT = 2,    ///< the call ran past its time limit and was terminated
    KJS_ERROR_MEMORY = 3,     ///< the transformation's zone outgrew the memory limit
    KJS_ERROR_COMPILE = 4,    ///< the code or a library did not compile, link or evaluate
    KJS_ERROR_OUTPUT = 5,     ///< the result could not be serialised to JSON, or was not an object
    KJS_ERROR_ENGINE = 6,     ///< an engine failure (out of memory in the host, bad input JSON)
};

typedef struct {
    int32_t kind;
    const char *message; size_t message_len;
    const char *file; size_t file_len;
    uint32_t line;
    uint32_t column;
    const char *stack; size_t stack_len;
} kjs_error;

/// Receives results. Pointers are valid only during the callback.
typedef struct {
    void *user;
    void (*event)(void *user, size_t index, const char *json, size_t len);
    void (*log)(void *user, size_t index, const char *line, size_t len);
    void (*error)(void *user, size_t index, const kjs_error *error);
} kjs_sink;

typedef struct {
    uint64_t memory_limit_bytes;  ///< per transformation (zone) while it runs
    size_t native_stack_quota;    ///< bytes of the calling thread's stack JS may use
    /// Called from kjs_process_stop (at exit) while this context is alive: the owner must free the
    /// context on its own thread before returning. May be NULL.
    void (*on_process_exit)(void *user);
    void *exit_user;
} kjs_context_options;

/// Creates a context on the calling thread (which it is bound to). NULL on failure.
kjs_context *kjs_context_new(const kjs_context_options *options);
void kjs_context_free(kjs_context *context);
/// Full GC and return of free memory to the OS.
void kjs_context_collect(kjs_context *context);

typedef struct {
    const char *name; size_t name_len;
    const char *code; size_t code_len;
} kjs_library;

/// Compiles and evaluates a transformation module in a new global (own zone). On failure returns
/// NULL and reports the error through sink->error with index 0.
kjs_realm *kjs_realm_new(kjs_context *context, const char *file_name, const char *code, size_t code_len,
                         const kjs_library *libraries, size_t library_count, uint32_t time_limit_ms,
                         const kjs_sink *sink);
void kjs_realm_free(kjs_context *context, kjs_realm *realm);

/// The fields of what metadata(event) returns, in this order.
enum {
    KJS_METADATA_SOURCE_ID = 0,
    KJS_METADATA_SOURCE_TYPE = 1,
    KJS_METADATA_DESTINATION_ID = 2,
    KJS_METADATA_DESTINATION_TYPE = 3,
    KJS_METADATA_MESSAGE_ID = 4,
    KJS_METADATA_WORKSPACE_ID = 5,
    KJS_METADATA_FIELD_COUNT = 6,
};

typedef struct {
    const char *event; size_t event_len;  ///< JSON object, UTF-8
    /// The metadata fields (UTF-8) one after another, in KJS_METADATA_* order; the object
    /// metadata(event) returns is built from them only when the transformation calls it.
    const char *metadata;
    uint32_t metadata_len[6];
} kjs_input;

/// An https request handed to the host (the engine itself speaks only http). URL, allow list,
/// method and headers are already checked. Headers are name, NUL, value, NUL, repeated.
typedef struct {
    const char *method; size_t method_len;
    const char *url; size_t url_len;
    const char *headers; size_t headers_len;
    const char *body; size_t body_len;
    uint32_t timeout_ms;
    uint32_t max_response_bytes;
} kjs_fetch_request;

typedef struct kjs_fetch_result kjs_fetch_result;
/// What the host's fetcher reports, from inside its callback.
void kjs_fetch_result_set_status(kjs_fetch_result *result, int status);
void kjs_fetch_result_add_header(kjs_fetch_result *result, const char *name, size_t name_len, const char *value,
                                 size_t value_len);
void kjs_fetch_result_append_body(kjs_fetch_result *result, const char *bytes, size_t len);
/// The request failed; the message is shown to the transformation (no secrets in it).
void kjs_fetch_result_fail(kjs_fetch_result *result, const char *message, size_t len);

/// Performs an https request synchronously (on the calling worker thread) and fills `result`.
typedef void (*kjs_fetch_fn)(void *user, const kjs_fetch_request *request, kjs_fetch_result *result);

typedef struct {
    uint32_t time_limit_ms;    ///< per transformEvent call, or per transformBatch call
    uint32_t fetch_timeout_ms; ///< per fetch, further capped by the time left in the call
    const char *allowed_hosts; size_t allowed_hosts_len; ///< comma-separated host or host:port
    uint32_t max_log_lines;    ///< per input
    uint32_t max_log_bytes;    ///< per input
    uint32_t max_fetch_response_bytes;
    kjs_fetch_fn https_fetch;  ///< NULL: https URLs are rejected
    void *https_fetch_user;
} kjs_call_options;

/// Runs the realm's transformEvent on each input (or transformBatch on all of them) and reports
/// through the sink. Returns the number of inputs handled; when it is less than count, or when
/// *realm_poisoned is set, the realm was terminated (time or memory) and must be freed; the caller
/// continues with the remaining inputs on a fresh realm.
size_t kjs_transform(kjs_context *context, kjs_realm *realm, const kjs_input *inputs, size_t count,
                     const kjs_call_options *options, const kjs_sink *sink, int *realm_poisoned);

#ifdef __cplusplus
}
#endif

#endif
