// SpiderMonkey 102 embedding for Keel's user transformations. See keel_js.h for the contract and
// docs/transformations.md for the design (contexts per thread, a realm and zone per
// transformation version, limits by interrupt).
#undef DEBUG
#include <jsapi.h>
#include <jsfriendapi.h>
#include <js/Array.h>
#include <js/BuildId.h>
#include <js/CharacterEncoding.h>
#include <js/CompilationAndEvaluation.h>
#include <js/ContextOptions.h>
#include <js/ErrorReport.h>
#include <js/Exception.h>
#include <js/GCAPI.h>
#include <js/GlobalObject.h>
#include <js/Initialization.h>
#include <js/JSON.h>
#include <js/Modules.h>
#include <js/Promise.h>
#include <js/PropertyAndElement.h>
#include <js/Realm.h>
#include <js/SourceText.h>
#include <js/Stack.h>
#include <js/Conversions.h>
#include <js/String.h>

#include <malloc.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http_client.h"
#include "keel_js.h"

namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// MARK: - Process

enum class ProcessState { idle, running, failed, stopped };

struct Process {
    std::mutex mu;
    std::condition_variable cv;
    ProcessState state = ProcessState::idle;
    bool stop_requested = false;
    JSRuntime *parent = nullptr;
    std::thread thread;
    struct Live {
        kjs_context *context;
        void (*on_exit)(void *);
        void *user;
    };
    std::vector<Live> live;
};

Process &process() {
    static Process *p = new Process();  // never destroyed: used from atexit
    return *p;
}

bool build_id(JS::BuildIdCharVector *id) {
    static const char text[] = "keel-transformations-mozjs102";
    return id->append(text, sizeof text - 1);
}

void process_thread_main() {
    Process &p = process();
    JS::SetProcessBuildIdOp(build_id);
    bool initialised = JS_Init();
    JSContext *cx = initialised ? JS_NewContext(16 * 1024 * 1024) : nullptr;
    bool ok = cx && js::UseInternalJobQueues(cx) && JS::InitSelfHostedCode(cx);
    std::unique_lock<std::mutex> lock(p.mu);
    p.state = ok ? ProcessState::running : ProcessState::failed;
    p.parent = ok ? JS_GetRuntime(cx) : nullptr;
    p.cv.notify_all();
    p.cv.wait(lock, [&] { return p.stop_requested; });
    lock.unlock();
    if (cx) JS_DestroyContext(cx);
    if (initialised) JS_ShutDown();
}

void process_at_exit() { kjs_process_stop(); }

// MARK: - Context

struct JobQueue;

}  // namespace

struct kjs_fetch_result {
    keel_js::HttpResponse *response = nullptr;
    size_t max_bytes = 0;
    bool failed = false;
    bool too_big = false;
    std::string error;
};

struct kjs_realm {
    explicit kjs_realm(JSContext *cx)
        : global(cx), namespace_object(cx), transform_event(cx), transform_batch(cx), stringify(cx), metadata(cx),
          memory_zone(cx) {}
    JS::PersistentRootedObject global;
    JS::PersistentRootedObject namespace_object;
    JS::PersistentRootedObject transform_event;
    JS::PersistentRootedObject transform_batch;
    JS::PersistentRootedObject stringify;
    JS::PersistentRootedObject metadata;
    JS::PersistentRootedObject memory_zone;
    std::unordered_map<std::string, std::string> library_sources;
    std::unordered_map<std::string, std::unique_ptr<JS::PersistentRootedObject>> library_modules;
};

struct kjs_context {
    JSContext *cx = nullptr;
    uint64_t memory_limit = 0;
    std::unique_ptr<JobQueue> jobs;

    // Watchdog: while calls run, it requests an interrupt every tick; the interrupt callback (on
    // the context's thread) checks the deadline and the zone's memory.
    std::thread watchdog;
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> in_call{false};
    std::atomic<bool> watching{false};
    bool stopping = false;

    // State of the running call; touched only on the context's thread.
    int64_t deadline = 0;
    int terminated = 0;
    bool in_interrupt = false;
    kjs_realm *realm = nullptr;
    const kjs_input *inputs = nullptr;
    size_t input_count = 0;
    size_t index = 0;
    bool batch = false;
    const kjs_call_options *options = nullptr;
    const kjs_sink *sink = nullptr;
    uint32_t log_lines = 0;
    size_t log_bytes = 0;
    bool log_truncated = false;
    std::unique_ptr<JS::PersistentRootedValue> current_metadata;
    std::string json_text;  // an output event's UTF-8, reused from event to event
};

namespace {

constexpr size_t max_pending_jobs = 100000;

// A promise job queue the host can clear after terminating a call, so that no job of a
// terminated realm runs later.
struct JobQueue final : public JS::JobQueue {
    explicit JobQueue(kjs_context *c) : context(c) {}
    kjs_context *context;
    std::deque<std::unique_ptr<JS::PersistentRootedObject>> queue;

    JSObject *getIncumbentGlobal(JSContext *cx) override { return JS::CurrentGlobalOrNull(cx); }
    bool enqueuePromiseJob(JSContext *cx, JS::HandleObject, JS::HandleObject job, JS::HandleObject,
                           JS::HandleObject) override {
        if (queue.size() >= max_pending_jobs) {
            JS_ReportErrorASCII(cx, "too many pending promise jobs");
            return false;
        }
        queue.push_back(std::make_unique<JS::PersistentRootedObject>(cx, job));
        return true;
    }
    void runJobs(JSContext *cx) override {
        while (!queue.empty()) {
            JS::RootedObject job(cx, *queue.front());
            queue.pop_front();
            JSAutoRealm ar(cx, job);
            JS::RootedValue rval(cx);
            if (!JS::Call(cx, JS::UndefinedHandleValue, job, JS::HandleValueArray::empty(), &rval)) {
                if (context->terminated) {
                    queue.clear();
                    return;
                }
                if (JS_IsExceptionPending(cx)) JS_ClearPendingException(cx);
            }
        }
    }
    bool empty() const override { return queue.empty(); }
    js::UniquePtr<SavedJobQueue> saveJobQueue(JSContext *) override { return nullptr; }
};

void watchdog_main(kjs_context *c) {
    std::unique_lock<std::mutex> lock(c->mu);
    int idle_ticks = 0;
    while (!c->stopping) {
        if (!c->watching.load()) {
            c->cv.wait(lock);
            idle_ticks = 0;
            continue;
        }
        c->cv.wait_for(lock, std::chrono::milliseconds(5));
        if (c->stopping) break;
        if (c->in_call.load()) {
            idle_ticks = 0;
            JS_RequestInterruptCallback(c->cx);
        } else if (++idle_ticks > 50) {
            c->watching.store(false);
            if (c->in_call.load()) c->watching.store(true);  // a call began meanwhile
        }
    }
}

void begin_call(kjs_context *c, uint32_t time_limit_ms, kjs_realm *realm) {
    c->terminated = 0;
    c->realm = realm;
    c->deadline = now_ns() + int64_t(time_limit_ms) * 1000000;
    c->in_call.store(true);
    if (!c->watching.load()) {
        std::lock_guard<std::mutex> lock(c->mu);
        c->watching.store(true);
        c->cv.notify_one();
    }
}

void end_call(kjs_context *c) { c->in_call.store(false); }

uint64_t zone_bytes(JSContext *cx, kjs_realm *realm) {
    JSAutoRealm ar(cx, realm->global);
    JS::RootedValue gc(cx), malloced(cx);
    if (!JS_GetProperty(cx, realm->memory_zone, "gcBytes", &gc) ||
        !JS_GetProperty(cx, realm->memory_zone, "mallocBytes", &malloced)) {
        JS_ClearPendingException(cx);
        return 0;
    }
    return uint64_t((gc.isNumber() ? gc.toNumber() : 0) + (malloced.isNumber() ? malloced.toNumber() : 0));
}

bool on_interrupt(JSContext *cx) {
    auto *c = static_cast<kjs_context *>(JS_GetContextPrivate(cx));
    if (!c || !c->in_call.load() || c->in_interrupt) return true;
    if (c->terminated) return false;
    if (now_ns() >= c->deadline) {
        c->terminated = KJS_ERROR_TIMEOUT;
        return false;
    }
    if (c->realm && c->memory_limit && c->realm->memory_zone) {
        c->in_interrupt = true;
        uint64_t used = zone_bytes(cx, c->realm);
        if (used > c->memory_limit) {
            JS::PrepareForFullGC(cx);
            JS::NonIncrementalGC(cx, JS::GCOptions::Normal, JS::GCReason::API);
            used = zone_bytes(cx, c->realm);
        }
        c->in_interrupt = false;
        if (used > c->memory_limit) {
            c->terminated = KJS_ERROR_MEMORY;
            return false;
        }
    }
    return true;
}

// MARK: - Strings

bool is_ascii(const char *p, size_t n) {
    size_t i = 0;
    uint64_t high = 0;
    for (; i + 32 <= n; i += 32) {  // four words per step: events are mostly ASCII
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        high |= w[0] | w[1] | w[2] | w[3];
        if (high & 0x8080808080808080ull) return false;
    }
    for (; i < n; i++)
        if (static_cast<unsigned char>(p[i]) >= 0x80) return false;
    return true;
}

JSString *new_string(JSContext *cx, const char *p, size_t n) {
    if (is_ascii(p, n)) return JS_NewStringCopyN(cx, p, n);
    return JS_NewStringCopyUTF8N(cx, JS::UTF8Chars(p, n));
}

// The string's text as UTF-8 (empty, with the exception cleared, if it cannot be read).
std::string to_utf8(JSContext *cx, JSString *string) {
    JSLinearString *linear = JS_EnsureLinearString(cx, string);
    if (!linear) {
        JS_ClearPendingException(cx);
        return {};
    }
    size_t length = JS::GetLinearStringLength(linear);
    if (JS::LinearStringHasLatin1Chars(linear)) {
        JS::AutoCheckCannotGC nogc;
        const char *chars = reinterpret_cast<const char *>(JS::GetLatin1LinearStringChars(nogc, linear));
        if (is_ascii(chars, length)) return std::string(chars, length);
    }
    std::string out(JS::GetDeflatedUTF8StringLength(linear), '\0');
    JS::DeflateStringToUTF8Buffer(linear, mozilla::Span<char>(out.data(), out.size()));
    return out;
}

// MARK: - Errors

void emit_error(const kjs_sink *sink, size_t index, int kind, const std::string &message, const std::string &file = {},
                uint32_t line = 0, uint32_t column = 0, const std::string &stack = {}) {
    if (!sink || !sink->error) return;
    kjs_error e{kind, message.data(), message.size(), file.data(), file.size(), line, column, stack.data(), stack.size()};
    sink->error(sink->user, index, &e);
}

struct ErrorInfo {
    std::string message, file, stack;
    uint32_t line = 0, column = 0;
};

ErrorInfo describe(JSContext *cx, JS::HandleValue exception, JS::HandleObject known_stack) {
    ErrorInfo info;
    JS::RootedObject stack(cx, known_stack);
    if (!stack && exception.isObject()) {
        JS::RootedObject object(cx, &exception.toObject());
        stack = JS::ExceptionStackOrNull(object);
    }
    JS::ExceptionStack exn(cx, exception, stack);
    JS::ErrorReportBuilder report(cx);
    if (report.init(cx, exn, JS::ErrorReportBuilder::WithSideEffects) && report.report()) {
        JSErrorReport *r = report.report();
        if (report.toStringResult()) info.message = report.toStringResult().c_str();
        if (r->filename) info.file = r->filename;
        info.line = r->lineno;
        info.column = r->exnType == JSEXN_SYNTAXERR ? r->column + 1 : r->column;
    } else {
        JS_ClearPendingException(cx);
        info.message = "uncaught exception";
    }
    if (stack) {
        JS::RootedString text(cx);
        if (JS::BuildStackString(cx, nullptr, stack, &text)) info.stack = to_utf8(cx, text);
        else JS_ClearPendingException(cx);
    }
    return info;
}

struct Failure {
    int kind;
    ErrorInfo info;
};

// Captures why the last operation failed: termination, or the pending exception (cleared).
Failure capture_failure(kjs_context *c, int kind_for_exception) {
    JSContext *cx = c->cx;
    if (c->terminated == KJS_ERROR_TIMEOUT)
        return {KJS_ERROR_TIMEOUT, {"transformation exceeded its time limit and was stopped"}};
    if (c->terminated == KJS_ERROR_MEMORY)
        return {KJS_ERROR_MEMORY, {"transformation exceeded its memory limit and was stopped"}};
    if (!JS_IsExceptionPending(cx)) return {KJS_ERROR_ENGINE, {"transformation was terminated"}};
    JS::ExceptionStack exn(cx);
    if (!JS::StealPendingExceptionStack(cx, &exn)) {
        JS_ClearPendingException(cx);
        return {KJS_ERROR_ENGINE, {"could not read the exception"}};
    }
    Failure failure{kind_for_exception, describe(cx, exn.exception(), exn.stack())};
    if (failure.info.message.find("out of memory") != std::string::npos) failure.kind = KJS_ERROR_MEMORY;
    return failure;
}

void emit_failure(const kjs_sink *sink, size_t index, const Failure &f) {
    emit_error(sink, index, f.kind, f.info.message, f.info.file, f.info.line, f.info.column, f.info.stack);
}

void report_failure(kjs_context *c, size_t index, int kind_for_exception) {
    emit_failure(c->sink, index, capture_failure(c, kind_for_exception));
}

// Settles a promise by running jobs. Returns false with the failure reported when it rejected,
// stayed pending or the call was terminated.
bool settle(kjs_context *c, JS::MutableHandleValue value, const size_t *indices, size_t index_count, int *rejected_kind) {
    JSContext *cx = c->cx;
    if (!value.isObject()) return true;
    JS::RootedObject promise(cx, &value.toObject());
    if (!JS::IsPromiseObject(promise)) return true;
    c->jobs->runJobs(cx);
    if (c->terminated) {
        *rejected_kind = c->terminated;
        return false;
    }
    switch (JS::GetPromiseState(promise)) {
        case JS::PromiseState::Fulfilled:
            value.set(JS::GetPromiseResult(promise));
            return true;
        case JS::PromiseState::Pending:
            for (size_t k = 0; k < index_count; k++)
                emit_error(c->sink, indices[k], KJS_ERROR_EXCEPTION, "the transformation's promise never settled");
            *rejected_kind = 0;
            return false;
        case JS::PromiseState::Rejected: {
            JS::RootedValue reason(cx, JS::GetPromiseResult(promise));
            ErrorInfo info = describe(cx, reason, nullptr);
            for (size_t k = 0; k < index_count; k++)
                emit_error(c->sink, indices[k], KJS_ERROR_EXCEPTION, info.message, info.file, info.line, info.column,
                           info.stack);
            *rejected_kind = 0;
            return false;
        }
    }
    return true;
}

// MARK: - Host functions

kjs_context *context_of(JSContext *cx) { return static_cast<kjs_context *>(JS_GetContextPrivate(cx)); }

bool stringify(JSContext *cx, kjs_realm *realm, JS::HandleValue value, JS::MutableHandleValue out) {
    JS::RootedValue fn(cx, JS::ObjectValue(*realm->stringify));
    JS::RootedValueArray<1> args(cx);
    args[0].set(value);
    return JS_CallFunctionValue(cx, nullptr, fn, args, out);
}

bool host_log(JSContext *cx, unsigned argc, JS::Value *vp) {
    JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
    args.rval().setUndefined();
    kjs_context *c = context_of(cx);
    if (!c || !c->sink || !c->options || !c->realm || !c->sink->log) return true;
    if (c->log_truncated) return true;
    std::string line;
    for (unsigned i = 0; i < args.length(); i++) {
        if (i) line += ' ';
        JS::RootedValue v(cx, args[i]);
        JS::RootedString s(cx);
        if (v.isString()) {
            s = v.toString();
        } else if (v.isObject()) {
            JS::RootedValue json(cx);
            if (!stringify(cx, c->realm, v, &json)) {
                if (c->terminated) return false;
                JS_ClearPendingException(cx);
            }
            if (json.isString()) s = json.toString();
        }
        if (!s) s = JS::ToString(cx, v);
        if (!s) return false;
        line += to_utf8(cx, s);
        if (line.size() > c->options->max_log_bytes) break;
    }
    size_t target = c->batch ? 0 : c->index;
    if (c->log_lines >= c->options->max_log_lines || c->log_bytes + line.size() > c->options->max_log_bytes) {
        c->log_truncated = true;
        static const char note[] = "[further log lines dropped: per-event log limit reached]";
        c->sink->log(c->sink->user, target, note, sizeof note - 1);
        return true;
    }
    c->log_lines++;
    c->log_bytes += line.size();
    c->sink->log(c->sink->user, target, line.data(), line.size());
    return true;
}

bool parse_json(JSContext *cx, const char *p, size_t n, JS::MutableHandleValue out) {
    JS::RootedString s(cx, new_string(cx, p, n));
    return s && JS_ParseJSON(cx, s, out);
}

// The metadata field `field` of an input (a view into the caller's buffer).
std::pair<const char *, size_t> metadata_field(const kjs_input &in, int field) {
    size_t offset = 0;
    for (int i = 0; i < field; i++) offset += in.metadata_len[i];
    return {in.metadata + offset, in.metadata_len[field]};
}

bool has_message_id(const kjs_input &in, const std::string &wanted) {
    auto [p, n] = metadata_field(in, KJS_METADATA_MESSAGE_ID);
    return n == wanted.size() && memcmp(p, wanted.data(), n) == 0;
}

// Builds {sourceId, sourceType, destinationId, destinationType, messageId, workspaceId}.
JSObject *new_metadata_object(JSContext *cx, const kjs_input &in) {
    static const char *const names[KJS_METADATA_FIELD_COUNT] = {"sourceId",        "sourceType", "destinationId",
                                                                 "destinationType", "messageId",  "workspaceId"};
    JS::RootedObject object(cx, JS_NewPlainObject(cx));
    if (!object) return nullptr;
    const char *p = in.metadata;
    for (int i = 0; i < KJS_METADATA_FIELD_COUNT; i++) {
        JS::RootedString value(cx, new_string(cx, p, in.metadata_len[i]));
        if (!value || !JS_DefineProperty(cx, object, names[i], value, JSPROP_ENUMERATE)) return nullptr;
        p += in.metadata_len[i];
    }
    return object;
}

bool host_metadata(JSContext *cx, unsigned argc, JS::Value *vp) {
    JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
    kjs_context *c = context_of(cx);
    if (!c || !c->inputs) {
        JSObject *empty = JS_NewPlainObject(cx);
        if (!empty) return false;
        args.rval().setObject(*empty);
        return true;
    }
    size_t index = c->index;
    bool found = !c->batch;
    if (c->batch && args.length() > 0 && args[0].isObject()) {
        JS::RootedObject event(cx, &args[0].toObject());
        JS::RootedValue id(cx);
        if (!JS_GetProperty(cx, event, "messageId", &id)) return false;
        if (id.isString()) {
            std::string wanted = to_utf8(cx, id.toString());
            for (size_t i = 0; i < c->input_count; i++) {
                if (has_message_id(c->inputs[i], wanted)) {
                    index = i;
                    found = true;
                    break;
                }
            }
        }
    }
    if (!found) {
        JSObject *empty = JS_NewPlainObject(cx);
        if (!empty) return false;
        args.rval().setObject(*empty);
        return true;
    }
    if (!c->batch && c->current_metadata && !c->current_metadata->get().isUndefined()) {
        args.rval().set(*c->current_metadata);
        return true;
    }
    JSObject *object = new_metadata_object(cx, c->inputs[index]);
    if (!object) return false;
    JS::RootedValue md(cx, JS::ObjectValue(*object));
    if (!c->batch) c->current_metadata->set(md);
    args.rval().set(md);
    return true;
}

bool reject_with(JSContext *cx, JS::CallArgs &args, const std::string &message) {
    JS_ReportErrorUTF8(cx, "%s", message.c_str());
    JS::RootedValue error(cx);
    if (!JS_GetPendingException(cx, &error)) return false;
    JS_ClearPendingException(cx);
    JSObject *promise = JS::CallOriginalPromiseReject(cx, error);
    if (!promise) return false;
    args.rval().setObject(*promise);
    return true;
}

// An https request through the host's fetcher (the engine has no TLS of its own).
std::string https_request(const kjs_call_options *options, const keel_js::HttpRequest &request, int timeout_ms,
                          keel_js::HttpResponse *response) {
    if (!options->https_fetch) return "https is not available in this engine";
    if (timeout_ms <= 0) return "fetch timed out (no time left in the call)";
    std::string headers;
    for (auto &[name, value] : request.headers) {
        headers += name;
        headers += '\0';
        headers += value;
        headers += '\0';
    }
    kjs_fetch_request r{request.method.data(), request.method.size(), request.url.data(), request.url.size(),
                        headers.data(),        headers.size(),        request.body.data(), request.body.size(),
                        uint32_t(timeout_ms),  options->max_fetch_response_bytes};
    kjs_fetch_result result;
    result.response = response;
    result.max_bytes = options->max_fetch_response_bytes;
    options->https_fetch(options->https_fetch_user, &r, &result);
    if (result.failed) return result.error.empty() ? std::string("the request failed") : result.error;
    if (result.too_big) return "fetch response exceeds the size limit";
    if (response->status == 0) return "the request failed";
    return {};
}

bool host_fetch_impl(JSContext *cx, unsigned argc, JS::Value *vp, bool v2) {
    JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
    kjs_context *c = context_of(cx);
    if (!c || !c->options || !c->realm) return reject_with(cx, args, "fetch is not available outside a transformation call");
    if (args.length() < 1) return reject_with(cx, args, "fetch needs a URL");
    keel_js::HttpRequest request;
    JS::RootedString url(cx, JS::ToString(cx, args[0]));
    if (!url) return false;
    request.url = to_utf8(cx, url);
    if (args.length() > 1 && args[1].isObject()) {
        JS::RootedObject options(cx, &args[1].toObject());
        JS::RootedValue v(cx);
        if (!JS_GetProperty(cx, options, "method", &v)) return false;
        if (!v.isUndefined()) {
            JS::RootedString m(cx, JS::ToString(cx, v));
            if (!m) return false;
            request.method = to_utf8(cx, m);
            for (auto &ch : request.method) ch = (ch >= 'a' && ch <= 'z') ? char(ch - 'a' + 'A') : ch;
        }
        if (!JS_GetProperty(cx, options, "headers", &v)) return false;
        if (v.isObject()) {
            JS::RootedObject headers(cx, &v.toObject());
            JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
            if (!JS_Enumerate(cx, headers, &ids)) return false;
            for (size_t i = 0; i < ids.length(); i++) {
                JS::RootedValue key(cx), value(cx);
                if (!JS_IdToValue(cx, ids[i], &key) || !JS_GetPropertyById(cx, headers, ids[i], &value)) return false;
                JS::RootedString k(cx, JS::ToString(cx, key)), val(cx, JS::ToString(cx, value));
                if (!k || !val) return false;
                request.headers.emplace_back(to_utf8(cx, k), to_utf8(cx, val));
            }
        }
        if (!JS_GetProperty(cx, options, "body", &v)) return false;
        if (v.isString()) {
            request.body = to_utf8(cx, v.toString());
        } else if (!v.isNullOrUndefined()) {
            JS::RootedValue json(cx);
            if (!stringify(cx, c->realm, v, &json)) return false;
            if (json.isString()) request.body = to_utf8(cx, json.toString());
        }
    }
    int64_t left_ms = (c->deadline - now_ns()) / 1000000;
    int timeout = int(std::min<int64_t>(c->options->fetch_timeout_ms, std::max<int64_t>(left_ms, 0)));
    std::string allowed(c->options->allowed_hosts ? c->options->allowed_hosts : "", c->options->allowed_hosts_len);
    keel_js::HttpResponse response;
    bool https = false;
    std::string failure = keel_js::check_request(request, allowed, &https);
    if (failure.empty() && https) {
        failure = https_request(c->options, request, timeout, &response);
    } else if (failure.empty()) {
        failure = keel_js::http_request(request, allowed, timeout, c->options->max_fetch_response_bytes, &response);
    }
    if (!failure.empty()) return reject_with(cx, args, "fetch " + request.url + ": " + failure);

    JS::RootedValue body(cx);
    if (!parse_json(cx, response.body.data(), response.body.size(), &body)) {
        if (c->terminated) return false;
        JS_ClearPendingException(cx);
        JSString *text = new_string(cx, response.body.data(), response.body.size());
        if (!text) return false;
        body.setString(text);
    }
    JS::RootedValue result(cx, body);
    if (v2) {
        JS::RootedObject object(cx, JS_NewPlainObject(cx));
        JS::RootedObject headers(cx, JS_NewPlainObject(cx));
        if (!object || !headers) return false;
        for (auto &[name, value] : response.headers) {
            JS::RootedString s(cx, new_string(cx, value.data(), value.size()));
            if (!s || !JS_DefineProperty(cx, headers, name.c_str(), s, JSPROP_ENUMERATE)) return false;
        }
        JS::RootedString u(cx, new_string(cx, request.url.data(), request.url.size()));
        if (!u || !JS_DefineProperty(cx, object, "status", response.status, JSPROP_ENUMERATE) ||
            !JS_DefineProperty(cx, object, "url", u, JSPROP_ENUMERATE) ||
            !JS_DefineProperty(cx, object, "headers", headers, JSPROP_ENUMERATE) ||
            !JS_DefineProperty(cx, object, "body", body, JSPROP_ENUMERATE))
            return false;
        result.setObject(*object);
    }
    JSObject *promise = JS::CallOriginalPromiseResolve(cx, result);
    if (!promise) return false;
    args.rval().setObject(*promise);
    return true;
}

bool host_fetch(JSContext *cx, unsigned argc, JS::Value *vp) { return host_fetch_impl(cx, argc, vp, false); }
bool host_fetch_v2(JSContext *cx, unsigned argc, JS::Value *vp) { return host_fetch_impl(cx, argc, vp, true); }

// MARK: - Modules

JSObject *compile_module(JSContext *cx, const std::string &file, const char *code, size_t len) {
    JS::CompileOptions options(cx);
    options.setFileAndLine(file.c_str(), 1);
    JS::SourceText<mozilla::Utf8Unit> source;
    if (!source.init(cx, code, len, JS::SourceOwnership::Borrowed)) return nullptr;
    return JS::CompileModule(cx, options, source);
}

JSObject *resolve_module(JSContext *cx, JS::HandleValue, JS::HandleObject request) {
    JS::RootedString specifier(cx, JS::GetModuleRequestSpecifier(cx, request));
    if (!specifier) return nullptr;
    std::string name = to_utf8(cx, specifier);
    auto *realm = static_cast<kjs_realm *>(JS::GetRealmPrivate(JS::GetCurrentRealmOrNull(cx)));
    if (!realm) {
        JS_ReportErrorASCII(cx, "imports are not available here");
        return nullptr;
    }
    if (auto it = realm->library_modules.find(name); it != realm->library_modules.end()) return *it->second;
    auto source = realm->library_sources.find(name);
    if (source == realm->library_sources.end()) {
        JS_ReportErrorUTF8(cx, "library '%s' is not defined in this workspace", name.c_str());
        return nullptr;
    }
    JS::RootedObject module(cx, compile_module(cx, name, source->second.data(), source->second.size()));
    if (!module) return nullptr;
    realm->library_modules.emplace(name, std::make_unique<JS::PersistentRootedObject>(cx, module));
    return module;
}

const JSClass global_class = {"KeelTransformationGlobal", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps};

bool install_host_functions(JSContext *cx, JS::HandleObject global) {
    JS::RootedObject console(cx, JS_NewPlainObject(cx));
    if (!console || !JS_DefineProperty(cx, global, "console", console, 0)) return false;
    for (const char *name : {"log", "info", "warn", "error", "debug"})
        if (!JS_DefineFunction(cx, console, name, host_log, 0, JSPROP_ENUMERATE)) return false;
    return JS_DefineFunction(cx, global, "log", host_log, 0, 0) &&
           JS_DefineFunction(cx, global, "fetch", host_fetch, 2, 0) &&
           JS_DefineFunction(cx, global, "fetchV2", host_fetch_v2, 2, 0);
}

JSObject *callable_export(JSContext *cx, JS::HandleObject ns, const char *name, bool *ok) {
    JS::RootedValue v(cx);
    if (!JS_GetProperty(cx, ns, name, &v)) {
        *ok = false;
        return nullptr;
    }
    if (v.isObject() && JS::IsCallable(&v.toObject())) return &v.toObject();
    return nullptr;
}

// MARK: - Results

// Appends UTF-16 `text` to `out` as UTF-8; a lone surrogate (JSON.stringify escapes those) as U+FFFD.
void append_utf8(std::string &out, const char16_t *text, size_t n) {
    size_t start = out.size();
    out.resize(start + n);  // events are mostly ASCII: one byte per unit
    char *d = out.data() + start;
    size_t i = 0;
#if defined(__SSE2__)
    // Not encoding_rs's encoding_mem_copy_basic_latin_to_ascii, exported by libmozjs: Debian's
    // build of it is scalar, 2.3 % of the worker's time in batches of 100 against 0.4 % for this.
    const __m128i high = _mm_set1_epi16(int16_t(0xFF80)), zero = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {  // 16 ASCII units narrowed per step
        __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(text + i));
        __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(text + i + 8));
        __m128i any = _mm_and_si128(_mm_or_si128(a, b), high);
        if (_mm_movemask_epi8(_mm_cmpeq_epi16(any, zero)) != 0xFFFF) break;
        _mm_storeu_si128(reinterpret_cast<__m128i *>(d + i), _mm_packus_epi16(a, b));
    }
#endif
    for (; i < n && text[i] < 0x80; i++) d[i] = char(text[i]);
    if (i == n) return;
    out.resize(start + i);
    for (; i < n; i++) {
        uint32_t u = text[i];
        if (u < 0x80) {
            out.push_back(char(u));
            continue;
        }
        if (u < 0x800) {
            out.push_back(char(0xC0 | (u >> 6)));
            out.push_back(char(0x80 | (u & 0x3F)));
            continue;
        }
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n && text[i + 1] >= 0xDC00 && text[i + 1] <= 0xDFFF) {
            uint32_t cp = 0x10000 + ((u - 0xD800) << 10) + (text[++i] - 0xDC00);
            out.push_back(char(0xF0 | (cp >> 18)));
            out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
            continue;
        }
        if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;
        out.push_back(char(0xE0 | (u >> 12)));
        out.push_back(char(0x80 | ((u >> 6) & 0x3F)));
        out.push_back(char(0x80 | (u & 0x3F)));
    }
}

bool append_json_text(const char16_t *text, uint32_t n, void *out) {
    append_utf8(*static_cast<std::string *>(out), text, n);
    return true;
}

// Emits one output event; returns false with the failure reported.
bool emit_event(kjs_context *c, size_t index, JS::HandleValue value) {
    JSContext *cx = c->cx;
    if (!value.isObject() || JS::IsCallable(&value.toObject())) {
        emit_error(c->sink, index, KJS_ERROR_OUTPUT,
                   "the transformation returned a value that is not an event object (expected an object, an "
                   "array of objects, null or undefined)");
        return false;
    }
    // JSON.stringify's algorithm written straight to UTF-8: no JS string for the text, and no call
    // into JS to reach JSON.stringify.
    c->json_text.clear();
    JS::RootedValue event(cx, value);
    if (!JS_Stringify(cx, &event, nullptr, JS::UndefinedHandleValue, append_json_text, &c->json_text)) {
        report_failure(c, index, KJS_ERROR_OUTPUT);
        return false;
    }
    // An object whose toJSON returns undefined has no JSON text (JS_Stringify writes "null").
    if (c->json_text.empty() || c->json_text[0] != '{') {
        emit_error(c->sink, index, KJS_ERROR_OUTPUT, "the returned event could not be serialised to a JSON object");
        return false;
    }
    c->sink->event(c->sink->user, index, c->json_text.data(), c->json_text.size());
    if (c->json_text.capacity() > (1u << 20)) std::string().swap(c->json_text);  // keep no huge buffer
    return true;
}

size_t index_for_message_id(kjs_context *c, JS::HandleValue event) {
    JSContext *cx = c->cx;
    if (!event.isObject()) return 0;
    JS::RootedObject object(cx, &event.toObject());
    JS::RootedValue id(cx);
    if (!JS_GetProperty(cx, object, "messageId", &id)) {
        JS_ClearPendingException(cx);
        return 0;
    }
    if (!id.isString()) return 0;
    std::string wanted = to_utf8(cx, id.toString());
    for (size_t i = 0; i < c->input_count; i++)
        if (has_message_id(c->inputs[i], wanted)) return i;
    return 0;
}

struct CallScope {
    kjs_context *c;
    CallScope(kjs_context *c, kjs_realm *realm, const kjs_input *inputs, size_t count, const kjs_call_options *options,
              const kjs_sink *sink)
        : c(c) {
        c->realm = realm;
        c->inputs = inputs;
        c->input_count = count;
        c->options = options;
        c->sink = sink;
        c->jobs->queue.clear();
    }
    ~CallScope() {
        end_call(c);
        c->jobs->queue.clear();
        c->inputs = nullptr;
        c->input_count = 0;
        c->options = nullptr;
        c->sink = nullptr;
        c->realm = nullptr;
        c->current_metadata->setUndefined();
    }
};

void reset_logs(kjs_context *c) {
    c->log_lines = 0;
    c->log_bytes = 0;
    c->log_truncated = false;
}

}  // namespace

// MARK: - C API

extern "C" {

int kjs_process_start(void) {
    Process &p = process();
    std::unique_lock<std::mutex> lock(p.mu);
    if (p.state == ProcessState::idle) {
        p.thread = std::thread(process_thread_main);
        p.cv.wait(lock, [&] { return p.state != ProcessState::idle; });
        atexit(process_at_exit);
    }
    return p.state == ProcessState::running ? 0 : -1;
}

void kjs_process_stop(void) {
    Process &p = process();
    // Ask the owners of live contexts to free them (they run on their own threads).
    for (;;) {
        std::unique_lock<std::mutex> lock(p.mu);
        if (p.live.empty()) break;
        Process::Live live = p.live.front();
        lock.unlock();
        if (live.on_exit) live.on_exit(live.user);
        lock.lock();
        if (!p.live.empty() && p.live.front().context == live.context) return;  // owner did not free it
    }
    std::unique_lock<std::mutex> lock(p.mu);
    if (p.state != ProcessState::running && p.state != ProcessState::failed) return;
    p.state = ProcessState::stopped;
    p.stop_requested = true;
    p.cv.notify_all();
    lock.unlock();
    if (p.thread.joinable()) p.thread.join();
}

kjs_context *kjs_context_new(const kjs_context_options *options) {
    Process &p = process();
    JSRuntime *parent;
    {
        std::lock_guard<std::mutex> lock(p.mu);
        if (p.state != ProcessState::running) return nullptr;
        parent = p.parent;
    }
    uint64_t backstop = options->memory_limit_bytes ? options->memory_limit_bytes * 2 + 64ull * 1024 * 1024
                                                    : 0xffffffffull;
    if (backstop > 0xffffffffull) backstop = 0xffffffffull;
    JSContext *cx = JS_NewContext(uint32_t(backstop), parent);
    if (!cx) return nullptr;
    auto *c = new kjs_context();
    c->cx = cx;
    c->memory_limit = options->memory_limit_bytes;
    c->jobs = std::make_unique<JobQueue>(c);
    JS_SetContextPrivate(cx, c);
    JS::SetJobQueue(cx, c->jobs.get());
    JS::ContextOptionsRef(cx).setWasm(false).setAsmJS(false);
    if (!JS::InitSelfHostedCode(cx)) {
        JS_DestroyContext(cx);
        delete c;
        return nullptr;
    }
    JS_SetGCParameter(cx, JSGC_MAX_BYTES, uint32_t(backstop));
    // A larger young generation: a batch of parsed events dies young, fewer minor GCs.
    JS_SetGCParameter(cx, JSGC_MAX_NURSERY_BYTES, 16u * 1024 * 1024);
    JS_SetGCParameter(cx, JSGC_MIN_NURSERY_BYTES, 4u * 1024 * 1024);
    JS_SetNativeStackQuota(cx, options->native_stack_quota);
    JS::SetModuleResolveHook(JS_GetRuntime(cx), resolve_module);
    JS_AddInterruptCallback(cx, on_interrupt);
    c->current_metadata = std::make_unique<JS::PersistentRootedValue>(cx);
    c->watchdog = std::thread(watchdog_main, c);
    std::lock_guard<std::mutex> lock(p.mu);
    p.live.push_back({c, options->on_process_exit, options->exit_user});
    return c;
}

void kjs_context_free(kjs_context *c) {
    if (!c) return;
    {
        std::lock_guard<std::mutex> lock(c->mu);
        c->stopping = true;
        c->cv.notify_one();
    }
    c->watchdog.join();
    c->jobs->queue.clear();
    c->current_metadata.reset();
    JS_DestroyContext(c->cx);
    delete c;
    Process &p = process();
    std::lock_guard<std::mutex> lock(p.mu);
    for (auto it = p.live.begin(); it != p.live.end(); ++it)
        if (it->context == c) {
            p.live.erase(it);
            break;
        }
}

void kjs_fetch_result_set_status(kjs_fetch_result *r, int status) { r->response->status = status; }

void kjs_fetch_result_add_header(kjs_fetch_result *r, const char *name, size_t name_len, const char *value,
                                 size_t value_len) {
    std::string n(name, name_len);
    for (auto &ch : n) ch = (ch >= 'A' && ch <= 'Z') ? char(ch - 'A' + 'a') : ch;
    r->response->headers.emplace_back(std::move(n), std::string(value, value_len));
}

void kjs_fetch_result_append_body(kjs_fetch_result *r, const char *bytes, size_t len) {
    if (r->too_big || r->response->body.size() + len > r->max_bytes) {
        r->too_big = true;
        return;
    }
    r->response->body.append(bytes, len);
}

void kjs_fetch_result_fail(kjs_fetch_result *r, const char *message, size_t len) {
    r->failed = true;
    r->error.assign(message, len);
}

void kjs_context_collect(kjs_context *c) {
    JS_GC(c->cx);
    malloc_trim(0);
}

kjs_realm *kjs_realm_new(kjs_context *c, const char *file_name, const char *code, size_t code_len,
                         const kjs_library *libraries, size_t library_count, uint32_t time_limit_ms,
                         const kjs_sink *sink) {
    JSContext *cx = c->cx;
    auto realm = std::make_unique<kjs_realm>(cx);
    for (size_t i = 0; i < library_count; i++)
        realm->library_sources[std::string(libraries[i].name, libraries[i].name_len)] =
            std::string(libraries[i].code, libraries[i].code_len);

    JS::RealmOptions options;
    options.creationOptions().setNewCompartmentAndZone();
    JS::RootedObject global(cx, JS_NewGlobalObject(cx, &global_class, nullptr, JS::DontFireOnNewGlobalHook, options));
    if (!global) {
        emit_error(sink, 0, KJS_ERROR_ENGINE, "could not create a global for the transformation");
        return nullptr;
    }
    realm->global = global;
    JSAutoRealm ar(cx, global);
    JS::SetRealmPrivate(JS::GetCurrentRealmOrNull(cx), realm.get());
    c->sink = sink;
    struct Clear {
        kjs_context *c;
        ~Clear() {
            end_call(c);
            c->sink = nullptr;
            c->realm = nullptr;
            c->jobs->queue.clear();
        }
    } clear{c};

    if (!JS::InitRealmStandardClasses(cx) || !install_host_functions(cx, global)) {
        report_failure(c, 0, KJS_ERROR_ENGINE);
        return nullptr;
    }
    JS::RootedValue json(cx), fn(cx);
    if (!JS_GetProperty(cx, global, "JSON", &json) || !json.isObject()) {
        report_failure(c, 0, KJS_ERROR_ENGINE);
        return nullptr;
    }
    JS::RootedObject json_object(cx, &json.toObject());
    if (!JS_GetProperty(cx, json_object, "stringify", &fn) || !fn.isObject()) {
        report_failure(c, 0, KJS_ERROR_ENGINE);
        return nullptr;
    }
    realm->stringify = &fn.toObject();
    JSFunction *metadata = JS_NewFunction(cx, host_metadata, 1, 0, "metadata");
    JS::RootedObject memory(cx, js::gc::NewMemoryInfoObject(cx));
    JS::RootedValue zone(cx);
    if (!metadata || !memory || !JS_GetProperty(cx, memory, "zone", &zone) || !zone.isObject()) {
        report_failure(c, 0, KJS_ERROR_ENGINE);
        return nullptr;
    }
    realm->metadata = JS_GetFunctionObject(metadata);
    realm->memory_zone = &zone.toObject();

    begin_call(c, time_limit_ms, realm.get());
    std::string file = file_name ? file_name : "transformation.js";
    JS::RootedObject module(cx, compile_module(cx, file, code, code_len));
    if (!module || !JS::ModuleInstantiate(cx, module)) {
        report_failure(c, 0, KJS_ERROR_COMPILE);
        return nullptr;
    }
    JS::RootedValue result(cx);
    if (!JS::ModuleEvaluate(cx, module, &result)) {
        report_failure(c, 0, KJS_ERROR_COMPILE);
        return nullptr;
    }
    int kind = 0;
    const size_t first = 0;
    if (!settle(c, &result, &first, 1, &kind)) {
        if (kind) report_failure(c, 0, KJS_ERROR_COMPILE);
        return nullptr;
    }
    JS::RootedObject ns(cx, JS::GetModuleNamespace(cx, module));
    bool ok = ns != nullptr;
    if (ok) {
        realm->transform_event = callable_export(cx, ns, "transformEvent", &ok);
        if (ok) realm->transform_batch = callable_export(cx, ns, "transformBatch", &ok);
    }
    if (!ok) {
        report_failure(c, 0, KJS_ERROR_COMPILE);
        return nullptr;
    }
    if (!realm->transform_event && !realm->transform_batch) {
        emit_error(sink, 0, KJS_ERROR_COMPILE,
                   "the transformation exports neither transformEvent(event, metadata) nor transformBatch(events, "
                   "metadata)",
                   file);
        return nullptr;
    }
    realm->namespace_object = ns;
    return realm.release();
}

void kjs_realm_free(kjs_context *, kjs_realm *realm) { delete realm; }

size_t kjs_transform(kjs_context *c, kjs_realm *realm, const kjs_input *inputs, size_t count,
                     const kjs_call_options *options, const kjs_sink *sink, int *realm_poisoned) {
    JSContext *cx = c->cx;
    *realm_poisoned = 0;
    JSAutoRealm ar(cx, realm->global);
    CallScope scope(c, realm, inputs, count, options, sink);

    if (!realm->transform_event) {
        // transformBatch(events, metadata): one call for the whole batch.
        c->batch = true;
        reset_logs(c);
        std::vector<size_t> indices;
        JS::RootedObject array(cx, JS::NewArrayObject(cx, count));
        if (!array) {
            JS_ClearPendingException(cx);
            for (size_t i = 0; i < count; i++) emit_error(sink, i, KJS_ERROR_ENGINE, "out of memory");
            return count;
        }
        uint32_t n = 0;
        for (size_t i = 0; i < count; i++) {
            JS::RootedValue event(cx);
            if (!parse_json(cx, inputs[i].event, inputs[i].event_len, &event)) {
                JS_ClearPendingException(cx);
                emit_error(sink, i, KJS_ERROR_ENGINE, "the input event is not valid JSON");
                continue;
            }
            if (!JS_SetElement(cx, array, n++, event)) {
                JS_ClearPendingException(cx);
                emit_error(sink, i, KJS_ERROR_ENGINE, "out of memory");
                continue;
            }
            indices.push_back(i);
        }
        if (!JS::SetArrayLength(cx, array, n)) JS_ClearPendingException(cx);
        begin_call(c, options->time_limit_ms, realm);
        JS::RootedValueArray<2> args(cx);
        args[0].setObject(*array);
        args[1].setObject(*realm->metadata);
        JS::RootedValue fn(cx, JS::ObjectValue(*realm->transform_batch)), result(cx);
        int kind = 0;
        bool ok = JS_CallFunctionValue(cx, nullptr, fn, args, &result);
        if (!ok) {
            Failure failure = capture_failure(c, KJS_ERROR_EXCEPTION);
            for (size_t i : indices) emit_failure(sink, i, failure);
            *realm_poisoned = c->terminated != 0;
            return count;
        }
        if (!settle(c, &result, indices.data(), indices.size(), &kind)) {
            if (kind) {
                Failure failure = capture_failure(c, KJS_ERROR_EXCEPTION);
                for (size_t i : indices) emit_failure(sink, i, failure);
                *realm_poisoned = 1;
            }
            return count;
        }
        if (result.isNullOrUndefined()) return count;
        bool is_array = false;
        if (!result.isObject() || !JS::IsArrayObject(cx, result, &is_array) || !is_array) {
            JS_ClearPendingException(cx);
            for (size_t i : indices)
                emit_error(sink, i, KJS_ERROR_OUTPUT, "transformBatch must return an array of events");
            return count;
        }
        JS::RootedObject out(cx, &result.toObject());
        uint32_t length = 0;
        if (!JS::GetArrayLength(cx, out, &length)) {
            report_failure(c, 0, KJS_ERROR_EXCEPTION);
            return count;
        }
        for (uint32_t k = 0; k < length; k++) {
            JS::RootedValue element(cx);
            if (!JS_GetElement(cx, out, k, &element)) {
                report_failure(c, 0, KJS_ERROR_EXCEPTION);
                *realm_poisoned = c->terminated != 0;
                return count;
            }
            if (element.isNullOrUndefined()) continue;
            size_t index = index_for_message_id(c, element);
            if (!emit_event(c, index, element) && c->terminated) {
                *realm_poisoned = 1;
                return count;
            }
        }
        return count;
    }

    c->batch = false;
    JS::RootedValue fn(cx, JS::ObjectValue(*realm->transform_event));
    for (size_t i = 0; i < count; i++) {
        c->index = i;
        reset_logs(c);
        c->current_metadata->setUndefined();
        JS::RootedValue event(cx);
        if (!parse_json(cx, inputs[i].event, inputs[i].event_len, &event)) {
            JS_ClearPendingException(cx);
            emit_error(sink, i, KJS_ERROR_ENGINE, "the input event is not valid JSON");
            continue;
        }
        begin_call(c, options->time_limit_ms, realm);
        JS::RootedValueArray<2> args(cx);
        args[0].set(event);
        args[1].setObject(*realm->metadata);
        JS::RootedValue result(cx);
        if (!JS_CallFunctionValue(cx, nullptr, fn, args, &result)) {
            report_failure(c, i, KJS_ERROR_EXCEPTION);
            if (c->terminated) {
                *realm_poisoned = 1;
                return i + 1;
            }
            continue;
        }
        int kind = 0;
        if (!settle(c, &result, &i, 1, &kind)) {
            if (kind) {
                report_failure(c, i, KJS_ERROR_EXCEPTION);
                *realm_poisoned = 1;
                return i + 1;
            }
            continue;
        }
        if (result.isNullOrUndefined()) continue;
        bool is_array = false;
        if (result.isObject() && !JS::IsArrayObject(cx, result, &is_array)) {
            report_failure(c, i, KJS_ERROR_EXCEPTION);
            continue;
        }
        if (is_array) {
            JS::RootedObject out(cx, &result.toObject());
            uint32_t length = 0;
            if (!JS::GetArrayLength(cx, out, &length)) {
                report_failure(c, i, KJS_ERROR_EXCEPTION);
                if (c->terminated) {
                    *realm_poisoned = 1;
                    return i + 1;
                }
                continue;
            }
            for (uint32_t k = 0; k < length; k++) {
                JS::RootedValue element(cx);
                if (!JS_GetElement(cx, out, k, &element)) {
                    report_failure(c, i, KJS_ERROR_EXCEPTION);
                    break;
                }
                if (element.isNullOrUndefined()) continue;
                if (!emit_event(c, i, element)) break;
            }
        } else {
            emit_event(c, i, result);
        }
        if (c->terminated) {
            *realm_poisoned = 1;
            return i + 1;
        }
    }
    return count;
}

}  // extern "C"
