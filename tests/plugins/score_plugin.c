/*
 * score_plugin: drives the ABI 1.1 host functions from plain C for the integration tests:
 * symbols and the score, per-session and per-transaction private data, MAIL parameters and the
 * local address. No config.
 *
 *   connect         adds symbol CONNECT_SEEN (0.5) and a session counter
 *   mail_from       adds HAS_SIZE (1.0) when MAIL had SIZE=, and transaction data
 *   end_of_message  adds X-Score, X-Symbols, X-Local and X-Session-Messages headers
 * Freeing either kind of data logs a line, so tests can see the host free it.
 */
#include <mailgate/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void);

static const mg_host* g_host;

static mg_str str(const char* text) {
    mg_str result = {text, strlen(text)};
    return result;
}

static void log_line(const char* text) {
    g_host->log(NULL, MG_LOG_INFO, str(text));
}

static void free_session_counter(void* data) {
    free(data);
    log_line("score_plugin: session data freed");
}

static void free_transaction_marker(void* data) {
    free(data);
    log_line("score_plugin: transaction data freed");
}

static void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    (void)yaml_config;
    if (!MG_HOST_HAS(host, transaction_data)) {
        host->config_error(load, "", str("score_plugin needs a host of ABI 1.1"));
        return NULL;
    }
    g_host = host;
    return (void*)host;
}

static mg_verdict on_connect(void* instance, mg_session* session) {
    (void)instance;
    int* messages = calloc(1, sizeof *messages);
    g_host->set_session_data(session, messages, free_session_counter);
    g_host->add_symbol(session, str("CONNECT_SEEN"), 0.5, str("a client connected"));
    return MG_CONTINUE;
}

static mg_verdict on_mail_from(void* instance, mg_session* session) {
    (void)instance;
    for (size_t i = 0; i < g_host->mail_param_count(session); ++i) {
        mg_str keyword;
        mg_str value;
        if (g_host->mail_param_at(session, i, &keyword, &value) == 0 && keyword.len == 4 &&
            memcmp(keyword.data, "SIZE", 4) == 0) {
            g_host->add_symbol(session, str("HAS_SIZE"), 1.0, str("MAIL declared a size"));
        }
    }
    g_host->set_transaction_data(session, malloc(1), free_transaction_marker);
    return MG_CONTINUE;
}

static mg_verdict on_end_of_message(void* instance, mg_session* session) {
    (void)instance;
    int* messages = g_host->session_data(session);
    if (messages == NULL || g_host->transaction_data(session) == NULL) {
        return MG_TEMPFAIL;
    }
    ++*messages;
    char text[512];
    snprintf(text, sizeof text, "%.2f", g_host->score(session));
    g_host->add_header(session, str("X-Score"), str(text));
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < g_host->symbol_count(session) && used < sizeof text - 80; ++i) {
        mg_str name;
        double score;
        g_host->symbol_at(session, i, &name, &score, NULL);
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%.*s=%.1f", i ? " " : "",
                                 (int)name.len, name.data, score);
    }
    g_host->add_header(session, str("X-Symbols"), str(text));
    const mg_str local = g_host->local_address(session);
    snprintf(text, sizeof text, "%.*s:%u", (int)local.len, local.data,
             (unsigned)g_host->local_port(session));
    g_host->add_header(session, str("X-Local"), str(text));
    snprintf(text, sizeof text, "%d", *messages);
    g_host->add_header(session, str("X-Session-Messages"), str(text));
    return MG_CONTINUE;
}

const mg_plugin_descriptor* mailgate_plugin_entry(void) {
    static const mg_plugin_descriptor descriptor = {
        .struct_size = sizeof(mg_plugin_descriptor),
        .abi_version = MAILGATE_ABI_VERSION,
        .name = "score_plugin",
        .version = "1.0",
        .create = create,
        .on_connect = on_connect,
        .on_mail_from = on_mail_from,
        .on_end_of_message = on_end_of_message,
    };
    return &descriptor;
}
