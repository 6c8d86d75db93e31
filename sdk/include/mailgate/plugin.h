/**
 * @file plugin.h
 * @brief The mailgate plugin ABI: one exported entry symbol, a descriptor of hooks, a host table.
 *
 * Pure C so that a plugin built by any compiler loads. Rules that keep old plugins loading:
 * fields are only ever appended, enum values are explicit, integers are fixed width, strings
 * are pointer + length (not NUL-terminated unless said so).
 *
 * Ownership: every mg_str the host hands to a plugin points into host memory and is valid only
 * until the hook returns (for a hook that returned MG_PENDING: until it calls host->complete).
 * Strings the plugin hands to the host are copied before the call returns.
 * A plugin instance (the `void* instance` returned by `create`) is shared by all sessions on all
 * threads: after `create` returns it must be safe to use from several threads at once.
 *
 * Threads: hooks of a plugin without MG_PLUGIN_NONBLOCKING run on the host's worker pool; those
 * of a plugin with it run on the I/O threads and must never block. The host functions may be
 * called from any thread while the hook that received the mg_session runs or is pending; the
 * mg_session handle of one hook call must not be used in another.
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
#define MAILGATE_ABI_VERSION_MINOR 3
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
    MG_CONTINUE = 0,   /**< no opinion: ask the next plugin */
    MG_ACCEPT = 1,     /**< accept at this stage; later plugins are not asked at this stage */
    MG_REJECT = 2,     /**< permanent failure (5xx); set the reply with host->set_reply */
    MG_TEMPFAIL = 3,   /**< temporary failure (4xx) */
    MG_DISCARD = 4,    /**< answer success to the client but deliver nothing */
    MG_DISCONNECT = 5, /**< answer 421 and close the connection */
    /* ---- ABI 1.2 ---- */
    MG_PENDING = 6,    /**< the hook goes on elsewhere: finish it with host->complete() */
    MG_QUARANTINE = 7, /**< deliver to the quarantine Maildir instead of the backend; answer 250 */
    MG_ERROR = 8       /**< the hook failed: the host applies the plugin's `on_error` policy */
} mg_verdict;

/** Edits a plugin may make (ABI 1.2), declared in mg_plugin_descriptor.edits. The host refuses
 *  and logs an edit the plugin did not declare. A plugin built before 1.2, or declaring 0, may
 *  add headers and nothing else. */
typedef enum mg_edit {
    MG_EDIT_ADD_HEADER = 1u << 0,    /**< add_header */
    MG_EDIT_CHANGE_HEADER = 1u << 1, /**< insert_header, change_header, delete_header */
    MG_EDIT_REPLACE_BODY = 1u << 2,  /**< replace_body */
    MG_EDIT_CHANGE_SENDER = 1u << 3, /**< change_sender */
    MG_EDIT_ADD_RCPT = 1u << 4,      /**< add_rcpt */
    MG_EDIT_DELETE_RCPT = 1u << 5    /**< delete_rcpt */
} mg_edit;

/** Plugin flags (ABI 1.2), in mg_plugin_descriptor.flags. */
typedef enum mg_plugin_flag {
    /** The hooks never block (no sleep, no blocking I/O, no lock held for long): the host calls
     *  them on its I/O threads. Without this flag every hook runs on the host's worker pool. A
     *  hook that has to wait for I/O should start it and return MG_PENDING instead. */
    MG_PLUGIN_NONBLOCKING = 1u << 0
} mg_plugin_flag;

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

    /** Message access, from the on_headers hook on (before: nothing). */
    size_t (*header_count)(mg_session* session);
    /** Name and value (value without the colon, with folding kept) of the index-th header. */
    int (*header_at)(mg_session* session, size_t index, mg_str* name, mg_str* value);
    /** The body after the blank line, CRLF line endings, dot-unstuffed. */
    mg_str (*body)(mg_session* session);
    /** Append a header to the message that is forwarded, during any transaction (before the
     *  message arrives it goes after the client's headers). The host writes "name: value":
     *  give the value without a leading space. Returns 0, or -1 if name or value is malformed
     *  (name must be printable ASCII without ':' or space; value without bare CR/LF) or
     *  there is no transaction. */
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
     *  may call `free_data` on any thread (usually the session's I/O thread; after a timeout,
     *  the thread where the stuck call ends). Data handed over after the call is over is
     *  freed at once. */
    void (*set_session_data)(mg_session* session, void* data, void (*free_data)(void*));
    void* (*session_data)(mg_session* session);
    void (*set_transaction_data)(mg_session* session, void* data, void (*free_data)(void*));
    void* (*transaction_data)(mg_session* session);

    /* ---- ABI 1.2: check MG_HOST_HAS(host, field) before use ---- */

    /** Finishes a hook that returned MG_PENDING, from any thread, exactly once (also after the
     *  host gave up waiting: the handle stays valid until this call). `verdict` must be a valid
     *  verdict other than MG_PENDING. The reply, symbols and edits must be set before this
     *  call. It may also come before the hook returns MG_PENDING (from another thread); if the
     *  hook then returns something else, that return value counts. Returns 0, or -1 when the
     *  call was already completed or the verdict is invalid; -2 when the host had already
     *  given up (the plugin's timeout passed): the verdict is then ignored. */
    int (*complete)(mg_session* session, mg_verdict verdict);

    /** 1 when the client connection is encrypted (STARTTLS or implicit TLS), else 0. */
    int (*tls)(mg_session* session);
    /** The identity the client authenticated as with AUTH; empty when it did not. */
    mg_str (*auth_identity)(mg_session* session);

    /** In on_body_chunk: the current piece of the body (after the blank line, CRLF line ends,
     *  dot-unstuffed). Pieces end at line ends, except when a line is longer than a piece. */
    mg_str (*body_chunk)(mg_session* session);
    /** Octets of the message as received (headers and body), from on_headers on. */
    uint64_t (*message_size)(mg_session* session);

    /** Edits, from on_headers on (on_headers, on_body_chunk, on_end_of_message). Each is
     *  applied at once, so later plugins see the result, and logged. All return 0, or -1 when
     *  the edit was not declared, is malformed, or is not allowed at this stage.
     *  Header indexes count every field of the current (edited) header section from 0;
     *  `nth` counts fields of that name (ASCII case ignored) from 1. Values are given without
     *  the leading space (the host writes "name: value"). Strings from header_at may go stale
     *  after a header edit: read them again. */
    int (*insert_header)(mg_session* session, size_t index, mg_str name, mg_str value);
    int (*change_header)(mg_session* session, mg_str name, size_t nth, mg_str value);
    int (*delete_header)(mg_session* session, mg_str name, size_t nth);
    /** Replaces the whole body (CRLF line ends, not dot-stuffed; a final CRLF is added when
     *  missing). Lines longer than 998 octets, bare CR or LF, and NUL are refused. */
    int (*replace_body)(mg_session* session, mg_str body);
    /** Changes the envelope sender (without angle brackets; empty: the null sender). The
     *  MAIL FROM parameters are kept. The backend transaction is replayed with it. */
    int (*change_sender)(mg_session* session, mg_str address);
    /** Adds or deletes a recipient of the message (without angle brackets). Adding one that is
     *  already there, or deleting one that is not, returns -1. */
    int (*add_rcpt)(mg_session* session, mg_str address);
    int (*delete_rcpt)(mg_session* session, mg_str address);
    /** From on_headers on: refuses the message for one recipient with a 4xx/5xx reply; the
     *  others still get it. Needs no declaration. When every recipient is refused, the client
     *  gets the first such reply; otherwise it gets the delivery's reply, and the refusals are
     *  logged (SMTP has one reply per message). */
    int (*reject_rcpt)(mg_session* session, mg_str address, uint16_t code, mg_str enhanced,
                       mg_str text);

    /* ---- ABI 1.3: check MG_HOST_HAS(host, field) before use ---- */

    /** 1 when a line logged at `level` would be written, else 0: to skip building a line that
     *  would be dropped (a debug line per recipient, say). `session` may be NULL. */
    int (*log_enabled)(mg_session* session, mg_log_level level);
} mg_host;

/** True when the host table has `field` (a host of an older minor version lacks newer ones). */
#define MG_HOST_HAS(host, field) \
    ((host)->struct_size >= offsetof(mg_host, field) + sizeof((host)->field))

/** Every hook receives the plugin instance and the session; it returns a verdict.
 *  Order within a message: mail_from, rcpt_to (per recipient), data, headers, body_chunk (per
 *  piece), end_of_message, reset. connect and helo come before, close at the very end. */
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

    /* ---- ABI 1.2 (a plugin built for 1.0 or 1.1 has these zero) ---- */

    /** DATA command, before the client sends the message: may refuse it up front. */
    mg_hook on_data;
    /** The message has arrived; its header section can be read (and edited). */
    mg_hook on_headers;
    /** Called for each piece of the body in order (host->body_chunk), after on_headers. */
    mg_hook on_body_chunk;
    /** The transaction ended: delivered, refused, RSET, new HELO or the client left. Called
     *  for every transaction that reached MAIL FROM; its verdict is ignored. Transaction data
     *  is freed after it. */
    mg_hook on_reset;
    /** MG_EDIT_* flags: the edits this plugin may make. 0 means MG_EDIT_ADD_HEADER, what every
     *  plugin could do before ABI 1.2 (so an older source rebuilt keeps working). */
    uint32_t edits;
    /** MG_PLUGIN_* flags. */
    uint32_t flags;
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
