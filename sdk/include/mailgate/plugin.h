/**
 * @file plugin.h
 * @brief The mailgate plugin ABI: one exported entry symbol, a descriptor of hooks, a host table.
 *
 * Pure C so that a plugin built by any compiler loads. Rules that keep old plugins loading:
 * fields are only ever appended, enum values are explicit, integers are fixed width, strings
 * are pointer + length (not NUL-terminated unless said so).
 *
 * Ownership: every mg_str the host hands to a plugin points into host memory and is valid only
 * until the hook returns. Strings the plugin hands to the host are copied before the call returns.
 * A plugin instance (the `void* instance` returned by `create`) is shared by all sessions on all
 * I/O threads: after `create` returns it must be safe to use from several threads at once.
 */
#ifndef MAILGATE_PLUGIN_H
#define MAILGATE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major changes are incompatible; a minor bump only appends fields. */
#define MAILGATE_ABI_VERSION_MAJOR 1
#define MAILGATE_ABI_VERSION_MINOR 1
#define MAILGATE_ABI_VERSION \
    ((uint32_t)((MAILGATE_ABI_VERSION_MAJOR << 16) | MAILGATE_ABI_VERSION_MINOR))

/** The name of the symbol every plugin exports. */
#define MAILGATE_PLUGIN_ENTRY_SYMBOL "mailgate_plugin_entry"

/** A byte string that is not NUL-terminated. */
typedef struct mg_str {
    const char* data;
    size_t len;
} mg_str;

/** What a hook decides. */
typedef enum mg_verdict {
    MG_CONTINUE = 0,  /**< no opinion: ask the next plugin */
    MG_ACCEPT = 1,    /**< accept at this stage; later plugins are not asked at this stage */
    MG_REJECT = 2,    /**< permanent failure (5xx); set the reply with host->set_reply */
    MG_TEMPFAIL = 3,  /**< temporary failure (4xx) */
    MG_DISCARD = 4,   /**< answer success to the client but deliver nothing */
    MG_DISCONNECT = 5 /**< answer 421 and close the connection */
} mg_verdict;

typedef enum mg_log_level {
    MG_LOG_DEBUG = 0,
    MG_LOG_INFO = 1,
    MG_LOG_WARNING = 2,
    MG_LOG_ERROR = 3
} mg_log_level;

/** Opaque: the client session a hook is called for. Valid only during the hook call. */
typedef struct mg_session mg_session;

/** Opaque: the load of one plugin, used to report configuration errors. */
typedef struct mg_load_context mg_load_context;

/**
 * Services the host gives to plugins. Owned by the host; lives as long as the plugin is loaded.
 * Check `struct_size` before using a field added in a later minor version.
 */
typedef struct mg_host {
    uint32_t struct_size;
    uint32_t abi_version;

    /** Log a line tagged with the plugin name and the session id (session may be NULL). */
    void (*log)(mg_session* session, mg_log_level level, mg_str message);

    /** Report a config error at `path` in the plugin's config subtree ("networks[2]", "" for the
     *  subtree itself). The host adds file, line and column. Only valid during `create`. */
    void (*config_error)(mg_load_context* load, const char* path, mg_str message);

    /** Set the reply used with MG_REJECT / MG_TEMPFAIL / MG_DISCONNECT from the current hook.
     *  `code` must match the verdict's class (5xx, 4xx, 421); `enhanced` like "5.7.1" (may be
     *  empty: a default is used). Returns 0 on success, -1 if the code is not valid. */
    int (*set_reply)(mg_session* session, uint16_t code, mg_str enhanced, mg_str text);

    /** Session facts. */
    mg_str (*session_id)(mg_session* session);
    mg_str (*client_address)(mg_session* session); /**< IP address as text, "::1" or "192.0.2.1" */
    uint16_t (*client_port)(mg_session* session);
    mg_str (*helo)(mg_session* session); /**< empty before HELO/EHLO */

    /** Envelope of the current transaction. Addresses without angle brackets; the null sender
     *  is the empty string. */
    mg_str (*mail_from)(mg_session* session);
    size_t (*rcpt_count)(mg_session* session); /**< recipients accepted so far */
    mg_str (*rcpt_at)(mg_session* session, size_t index);
    /** In the rcpt_to hook: the recipient being decided on (with any source route removed). */
    mg_str (*current_rcpt)(mg_session* session);

    /** Message access, from the end_of_message hook on. */
    size_t (*header_count)(mg_session* session);
    /** Name and value (value without the colon, with folding kept) of the index-th header. */
    int (*header_at)(mg_session* session, size_t index, mg_str* name, mg_str* value);
    /** The body after the blank line, CRLF line endings, dot-unstuffed. */
    mg_str (*body)(mg_session* session);
    /** Append a header to the message that is forwarded. Returns 0, or -1 if name or value is
     *  malformed (name must be printable ASCII without ':' or space; value without bare CR/LF). */
    int (*add_header)(mg_session* session, mg_str name, mg_str value);

    /* ---- ABI 1.1: check MG_HOST_HAS(host, field) before use ---- */

    /** The address and port of our side of the connection. */
    mg_str (*local_address)(mg_session* session);
    uint16_t (*local_port)(mg_session* session);

    /** ESMTP parameters of MAIL FROM ("SIZE", "1000"; "SMTPUTF8", empty value). Keywords are
     *  upper case. Returns 0, or -1 when index is out of range. */
    size_t (*mail_param_count)(mg_session* session);
    int (*mail_param_at)(mg_session* session, size_t index, mg_str* keyword, mg_str* value);

    /** Scores: add a named symbol with a score (may be negative) and a description. Symbols
     *  added before MAIL (connect, helo) count for every message of the session. Later plugins
     *  and the summary log line see the total. Returns 0, or -1 for an empty or malformed name
     *  (printable ASCII without spaces, at most 64 octets) or a score that is not finite. */
    int (*add_symbol)(mg_session* session, mg_str name, double score, mg_str description);
    double (*score)(mg_session* session);
    size_t (*symbol_count)(mg_session* session);
    int (*symbol_at)(mg_session* session, size_t index, mg_str* name, double* score,
                     mg_str* description);

    /** Private data of the calling plugin, one slot per plugin: for the session (freed when it
     *  ends) and for the transaction (freed at its end: delivery, reject, RSET or disconnect).
     *  Setting a slot again frees the previous data first. `free_data` may be NULL. The host
     *  calls `free_data` on the session's I/O thread. */
    void (*set_session_data)(mg_session* session, void* data, void (*free_data)(void*));
    void* (*session_data)(mg_session* session);
    void (*set_transaction_data)(mg_session* session, void* data, void (*free_data)(void*));
    void* (*transaction_data)(mg_session* session);
} mg_host;

/** True when the host table has `field` (a host of an older minor version lacks newer ones). */
#define MG_HOST_HAS(host, field) \
    ((host)->struct_size >= offsetof(mg_host, field) + sizeof((host)->field))

/** Every hook receives the plugin instance and the session; it returns a verdict. */
typedef mg_verdict (*mg_hook)(void* instance, mg_session* session);

/**
 * What a plugin exports. Returned by the entry symbol; owned by the plugin and must stay valid
 * while the library is loaded (a static const object is the usual choice).
 */
typedef struct mg_plugin_descriptor {
    uint32_t struct_size; /**< sizeof(mg_plugin_descriptor) as the plugin was built */
    uint32_t abi_version; /**< MAILGATE_ABI_VERSION as the plugin was built */
    const char* name;     /**< NUL-terminated, for logs */
    const char* version;  /**< NUL-terminated, the plugin's own version */

    /** Parse the plugin's YAML subtree (as YAML text, may be empty) into an instance. On error
     *  call host->config_error one or more times and return NULL. */
    void* (*create)(const mg_host* host, mg_load_context* load, mg_str yaml_config);
    /** Free an instance. Called once, after the last hook. May be NULL. */
    void (*destroy)(void* instance);

    /** Hooks; NULL means "not interested". close is always called when the session ends and its
     *  verdict is ignored. */
    mg_hook on_connect;
    mg_hook on_helo;
    mg_hook on_mail_from;
    mg_hook on_rcpt_to;
    mg_hook on_end_of_message;
    mg_hook on_close;
} mg_plugin_descriptor;

/** The signature of the entry symbol `mailgate_plugin_entry`. */
typedef const mg_plugin_descriptor* (*mg_plugin_entry_fn)(void);

#if defined(_WIN32)
#define MAILGATE_PLUGIN_EXPORT __declspec(dllexport)
#else
#define MAILGATE_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
}
#endif

#endif /* MAILGATE_PLUGIN_H */
