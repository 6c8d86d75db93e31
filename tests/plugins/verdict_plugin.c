/*
 * verdict_plugin: answers a configured verdict at a configured stage, so integration tests can
 * drive every verdict through the real plugin ABI. Plain C on purpose: it keeps the ABI honest.
 *
 * Config: a flat YAML mapping, one `key: value` per line (no flow style, no nesting):
 *
 *   stage: rcpt_to           # connect | helo | mail_from | rcpt_to | end_of_message (default)
 *                            # | data | headers | body_chunk
 *   verdict: reject          # continue (default) | accept | reject | tempfail | discard
 *                            # | disconnect | quarantine | error | garbage (returns 42)
 *   sleep_ms: 2000           # optional: block this long in the hook before answering (the
 *                            # plugin is not nonblocking, so this runs on the worker pool)
 *   code: 554                # optional reply code (reject, tempfail, disconnect only)
 *   enhanced: "5.7.1"        # optional enhanced status code
 *   text: "Rejected by verdict_plugin"  # optional reply text
 *   match: "needle"          # optional: act only when this substring occurs in the stage's
 *                            # subject: connect the client address, helo the HELO name,
 *                            # mail_from the sender, rcpt_to the recipient, end_of_message and
 *                            # headers the body, body_chunk the current chunk, data the sender
 *   add_header: "X-Verdict-Plugin: seen"  # optional: added at end_of_message, whatever the
 *                            # stage, match or verdict
 *
 * A reply is set when the verdict is reject, tempfail or disconnect and any of code, enhanced or
 * text is given; the code then defaults to 550, 451 or 421. Every hook that runs at the
 * configured stage, or adds the header, logs one line.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <mailgate/plugin.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void);

typedef enum stage {
    STAGE_CONNECT = 0,
    STAGE_HELO = 1,
    STAGE_MAIL_FROM = 2,
    STAGE_RCPT_TO = 3,
    STAGE_END_OF_MESSAGE = 4,
    STAGE_DATA = 5,
    STAGE_HEADERS = 6,
    STAGE_BODY_CHUNK = 7
} stage;

static const char* const stage_names[] = {"connect",        "helo", "mail_from", "rcpt_to",
                                          "end_of_message", "data", "headers",   "body_chunk"};
/* Indexed by mg_verdict; "pending" cannot be configured (nothing would complete it). */
static const char* const verdict_names[] = {"continue", "accept",     "reject",    "tempfail",
                                            "discard",  "disconnect", "(pending)", "quarantine",
                                            "error",    "garbage"};
#define VERDICT_GARBAGE 9 /* configured as "garbage": the hook returns 42 */

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Read-only after create: shared by all sessions on all threads. */
typedef struct plugin {
    const mg_host* host;
    stage stage;
    mg_verdict verdict;
    int code;       /* 0 when not configured */
    char* enhanced; /* NULL when not configured, like the strings below */
    char* text;
    char* match;
    char* header_name; /* from add_header */
    char* header_value;
    long sleep_ms;
} plugin;

/* ---- small string helpers -------------------------------------------------------------- */

static mg_str make_str(const char* data, size_t length) {
    mg_str result;
    result.data = data;
    result.len = length;
    return result;
}

static mg_str cstr(const char* text) {
    return make_str(text, text != NULL ? strlen(text) : 0);
}

static char* copy_range(const char* begin, size_t length) {
    char* copy = malloc(length + 1);
    if (copy != NULL) {
        memcpy(copy, begin, length);
        copy[length] = '\0';
    }
    return copy;
}

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

static char* skip_blanks(char* p) {
    while (is_blank(*p)) {
        ++p;
    }
    return p;
}

static void trim_end(char* begin) {
    size_t length = strlen(begin);
    while (length > 0 && is_blank(begin[length - 1])) {
        begin[--length] = '\0';
    }
}

/* Whether `needle` occurs in the byte string `haystack` (not NUL-terminated). */
static int contains(mg_str haystack, const char* needle) {
    const size_t length = strlen(needle);
    size_t i;
    if (length == 0) {
        return 1;
    }
    if (haystack.data == NULL || haystack.len < length) {
        return 0;
    }
    for (i = 0; i + length <= haystack.len; ++i) {
        if (memcmp(haystack.data + i, needle, length) == 0) {
            return 1;
        }
    }
    return 0;
}

static int find_name(const char* const* names, size_t count, const char* wanted) {
    size_t i;
    for (i = 0; i < count; ++i) {
        if (strcmp(names[i], wanted) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- config ---------------------------------------------------------------------------- */

/* The scalar at `p` with quotes removed, in place. Returns NULL on a syntax error. */
static char* unquote(char* p) {
    const char quote = *p;
    char* out = p;
    char* in = p + 1;
    if (quote != '"' && quote != '\'') {
        char* comment = p;
        while ((comment = strchr(comment, '#')) != NULL) {
            if (comment == p || is_blank(comment[-1])) {
                *comment = '\0';
                break;
            }
            ++comment;
        }
        trim_end(p);
        return p;
    }
    for (;;) {
        if (*in == '\0') {
            return NULL; /* unterminated */
        }
        if (quote == '"' && *in == '\\' && in[1] != '\0') {
            ++in;
            *out++ = *in == 'n' ? '\n' : *in == 't' ? '\t' : *in;
            ++in;
        } else if (quote == '\'' && in[0] == '\'' && in[1] == '\'') {
            *out++ = '\'';
            in += 2;
        } else if (*in == quote) {
            ++in;
            break;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    in = skip_blanks(in);
    return (*in == '\0' || *in == '#') ? p : NULL;
}

static void report(const mg_host* host, mg_load_context* load, const char* path,
                   const char* message) {
    host->config_error(load, path, cstr(message));
}

static int set_string(char** field, const char* value) {
    free(*field);
    *field = copy_range(value, strlen(value));
    return *field != NULL;
}

static int set_header(plugin* config, const char* value) {
    const char* colon = strchr(value, ':');
    const char* header_value;
    if (colon == NULL || colon == value) {
        return 0;
    }
    header_value = colon + 1;
    while (*header_value == ' ' || *header_value == '\t') {
        ++header_value;
    }
    free(config->header_name);
    free(config->header_value);
    config->header_name = copy_range(value, (size_t)(colon - value));
    config->header_value = copy_range(header_value, strlen(header_value));
    return config->header_name != NULL && config->header_value != NULL;
}

/* Applies one `key: value`; reports and returns 0 on error. */
static int apply_setting(plugin* config, mg_load_context* load, const char* key,
                         const char* value) {
    const mg_host* host = config->host;
    if (strcmp(key, "stage") == 0) {
        const int index = find_name(stage_names, COUNT_OF(stage_names), value);
        if (index < 0) {
            report(host, load, key,
                   "must be connect, helo, mail_from, rcpt_to, data, headers, body_chunk or "
                   "end_of_message");
            return 0;
        }
        config->stage = (stage)index;
    } else if (strcmp(key, "verdict") == 0) {
        const int index = find_name(verdict_names, COUNT_OF(verdict_names), value);
        if (index < 0) {
            report(host, load, key,
                   "must be continue, accept, reject, tempfail, discard, disconnect, "
                   "quarantine, error or garbage");
            return 0;
        }
        config->verdict = (mg_verdict)index;
    } else if (strcmp(key, "code") == 0) {
        const int valid = strlen(value) == 3 && value[0] >= '2' && value[0] <= '5' &&
                          value[1] >= '0' && value[1] <= '9' && value[2] >= '0' && value[2] <= '9';
        if (!valid) {
            report(host, load, key, "must be a reply code from 200 to 599");
            return 0;
        }
        config->code = atoi(value);
    } else if (strcmp(key, "sleep_ms") == 0) {
        config->sleep_ms = atol(value);
        if (config->sleep_ms <= 0 || config->sleep_ms > 60000) {
            report(host, load, key, "must be from 1 to 60000");
            return 0;
        }
    } else if (strcmp(key, "enhanced") == 0) {
        return set_string(&config->enhanced, value);
    } else if (strcmp(key, "text") == 0) {
        return set_string(&config->text, value);
    } else if (strcmp(key, "match") == 0) {
        return set_string(&config->match, value);
    } else if (strcmp(key, "add_header") == 0) {
        if (!set_header(config, value)) {
            report(host, load, key, "must be 'Name: value'");
            return 0;
        }
    } else {
        report(host, load, key, "unknown key");
        return 0;
    }
    return 1;
}

/* Parses one line in place. Returns 0 after reporting an error. */
static int parse_line(plugin* config, mg_load_context* load, char* line, int line_number) {
    char message[128];
    char* key = skip_blanks(line);
    char* colon;
    char* value;
    trim_end(key);
    if (*key == '\0' || *key == '#' || strcmp(key, "---") == 0 || strcmp(key, "...") == 0 ||
        strcmp(key, "{}") == 0 || strcmp(key, "~") == 0 || strcmp(key, "null") == 0) {
        return 1;
    }
    colon = strchr(key, ':');
    if (*key == '{' || *key == '-' || colon == NULL || colon == key ||
        (colon[1] != '\0' && !is_blank(colon[1]))) {
        snprintf(message, sizeof message, "line %d: expected 'key: value' (flat mapping only)",
                 line_number);
        report(config->host, load, "", message);
        return 0;
    }
    *colon = '\0';
    trim_end(key);
    value = unquote(skip_blanks(colon + 1));
    if (value == NULL) {
        report(config->host, load, key, "unterminated or malformed quoted value");
        return 0;
    }
    return apply_setting(config, load, key, value);
}

/* Parses the whole config; returns the number of errors reported. */
static int parse_config(plugin* config, mg_load_context* load, mg_str yaml) {
    char* text = copy_range(yaml.data != NULL ? yaml.data : "", yaml.len);
    char* line;
    int errors = 0;
    int line_number = 1;
    if (text == NULL) {
        report(config->host, load, "", "out of memory");
        return 1;
    }
    line = text;
    while (line != NULL) {
        char* newline = strchr(line, '\n');
        if (newline != NULL) {
            *newline = '\0';
        }
        if (!parse_line(config, load, line, line_number)) {
            ++errors;
        }
        line = newline != NULL ? newline + 1 : NULL;
        ++line_number;
    }
    free(text);
    return errors;
}

/* ---- hooks ----------------------------------------------------------------------------- */

/* The one log line a hook writes, built piece by piece and cut at its size. */
typedef struct log_line {
    char text[512];
    size_t used;
} log_line;

#if defined(__GNUC__)
#define PRINTF_LIKE(format_index, first_argument) \
    __attribute__((format(printf, format_index, first_argument)))
#else
#define PRINTF_LIKE(format_index, first_argument)
#endif

static void append(log_line* line, const char* format, ...) PRINTF_LIKE(2, 3);

static void append(log_line* line, const char* format, ...) {
    va_list args;
    int written;
    if (line->used + 1 >= sizeof line->text) {
        return;
    }
    va_start(args, format);
    written = vsnprintf(line->text + line->used, sizeof line->text - line->used, format, args);
    va_end(args);
    if (written > 0) {
        line->used += (size_t)written;
        if (line->used >= sizeof line->text) {
            line->used = sizeof line->text - 1;
        }
    }
}

static mg_str stage_subject(const plugin* config, mg_session* session) {
    const mg_host* host = config->host;
    switch (config->stage) {
        case STAGE_CONNECT:
            return host->client_address(session);
        case STAGE_HELO:
            return host->helo(session);
        case STAGE_MAIL_FROM:
            return host->mail_from(session);
        case STAGE_RCPT_TO:
            return host->current_rcpt(session);
        case STAGE_END_OF_MESSAGE:
        case STAGE_HEADERS:
            return host->body(session);
        case STAGE_BODY_CHUNK:
            return host->body_chunk(session);
        case STAGE_DATA:
            return host->mail_from(session);
    }
    return cstr("");
}

static int default_code(mg_verdict verdict) {
    return verdict == MG_TEMPFAIL ? 451 : verdict == MG_DISCONNECT ? 421 : 550;
}

/* Sets the configured reply when the verdict carries one. */
static void apply_reply(const plugin* config, mg_session* session, log_line* line) {
    const int has_reply = config->code != 0 || config->enhanced != NULL || config->text != NULL;
    const int code = config->code != 0 ? config->code : default_code(config->verdict);
    const char* text = config->text != NULL ? config->text : "verdict_plugin";
    if (!has_reply || (config->verdict != MG_REJECT && config->verdict != MG_TEMPFAIL &&
                       config->verdict != MG_DISCONNECT)) {
        return;
    }
    if (config->host->set_reply(session, (uint16_t)code, cstr(config->enhanced), cstr(text)) != 0) {
        append(line, ", set_reply(%d) refused", code);
    } else {
        append(line, ", reply %d", code);
    }
}

static mg_verdict run_stage(const plugin* config, mg_session* session, log_line* line) {
    if (config->match != NULL && !contains(stage_subject(config, session), config->match)) {
        append(line, "no match for \"%s\", continue", config->match);
        return MG_CONTINUE;
    }
    if (config->sleep_ms > 0) {
        struct timespec pause;
        pause.tv_sec = config->sleep_ms / 1000;
        pause.tv_nsec = (config->sleep_ms % 1000) * 1000000L;
        nanosleep(&pause, NULL);
        append(line, "slept %ld ms, ", config->sleep_ms);
    }
    append(line, "verdict %s", verdict_names[config->verdict]);
    apply_reply(config, session, line);
    if (config->match != NULL) {
        append(line, " (matched \"%s\")", config->match);
    }
    return (int)config->verdict == VERDICT_GARBAGE ? (mg_verdict)42 : config->verdict;
}

static void add_configured_header(const plugin* config, mg_session* session, log_line* line) {
    const int failed = config->host->add_header(session, cstr(config->header_name),
                                                cstr(config->header_value)) != 0;
    append(line, "%s header %s", failed ? "could not add" : "added", config->header_name);
}

static mg_verdict on_stage(void* instance, mg_session* session, stage current) {
    const plugin* config = instance;
    mg_verdict verdict = MG_CONTINUE;
    log_line line = {"", 0};
    const int adds_header = current == STAGE_END_OF_MESSAGE && config->header_name != NULL;
    if (current != config->stage && !adds_header) {
        return MG_CONTINUE;
    }
    append(&line, "%s: ", stage_names[current]);
    if (adds_header) {
        add_configured_header(config, session, &line);
    }
    if (current == config->stage) {
        if (adds_header) {
            append(&line, "; ");
        }
        verdict = run_stage(config, session, &line);
    }
    config->host->log(session, MG_LOG_INFO, make_str(line.text, line.used));
    return verdict;
}

static mg_verdict on_connect(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_CONNECT);
}

static mg_verdict on_helo(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_HELO);
}

static mg_verdict on_mail_from(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_MAIL_FROM);
}

static mg_verdict on_rcpt_to(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_RCPT_TO);
}

static mg_verdict on_end_of_message(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_END_OF_MESSAGE);
}

static mg_verdict on_data(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_DATA);
}

static mg_verdict on_headers(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_HEADERS);
}

static mg_verdict on_body_chunk(void* instance, mg_session* session) {
    return on_stage(instance, session, STAGE_BODY_CHUNK);
}

/* ---- lifetime -------------------------------------------------------------------------- */

static void destroy(void* instance) {
    plugin* config = instance;
    if (config == NULL) {
        return;
    }
    free(config->enhanced);
    free(config->text);
    free(config->match);
    free(config->header_name);
    free(config->header_value);
    free(config);
}

static void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    plugin* config;
    if (host == NULL || host->struct_size < sizeof(mg_host)) {
        if (host != NULL && host->config_error != NULL) {
            report(host, load, "", "the host table is older than this plugin");
        }
        return NULL;
    }
    config = calloc(1, sizeof *config);
    if (config == NULL) {
        report(host, load, "", "out of memory");
        return NULL;
    }
    config->host = host;
    config->stage = STAGE_END_OF_MESSAGE;
    config->verdict = MG_CONTINUE;
    if (parse_config(config, load, yaml_config) != 0) {
        destroy(config);
        return NULL;
    }
    return config;
}

static const mg_plugin_descriptor descriptor = {
    sizeof(mg_plugin_descriptor),
    MAILGATE_ABI_VERSION,
    "verdict_plugin",
    "1.0.0",
    create,
    destroy,
    on_connect,
    on_helo,
    on_mail_from,
    on_rcpt_to,
    on_end_of_message,
    NULL, /* on_close */
    on_data,
    on_headers,
    on_body_chunk,
    NULL,               /* on_reset */
    MG_EDIT_ADD_HEADER, /* edits */
    0,                  /* flags: may block (sleep_ms), so it runs on the worker pool */
};

const mg_plugin_descriptor* mailgate_plugin_entry(void) {
    return &descriptor;
}
