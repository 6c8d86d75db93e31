/*
 * legacy_plugin: what a plugin built against ABI 1.0 looks like to this host: a descriptor that
 * ends at on_close and says version 1.0. It must still load (older minor, same major), may add
 * headers, runs on the worker pool, and cannot use the verdict values 1.2 added: its 6 at
 * rcpt_to (MG_PENDING today) must count as an invalid verdict, not as "pending".
 *
 *   rcpt_to         returns 6 for a recipient starting with "six@", else continue
 *   end_of_message  adds "X-Legacy: 1.0"
 */
#include <mailgate/plugin.h>

#include <stddef.h>
#include <string.h>

MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void);

static const mg_host* g_host;

static mg_str str(const char* text) {
    mg_str result = {text, strlen(text)};
    return result;
}

static void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    (void)load;
    (void)yaml_config;
    g_host = host;
    return &g_host;
}

static mg_verdict on_rcpt_to(void* instance, mg_session* session) {
    const mg_str rcpt = g_host->current_rcpt(session);
    (void)instance;
    if (rcpt.len >= 4 && memcmp(rcpt.data, "six@", 4) == 0) {
        return (mg_verdict)6;
    }
    return MG_CONTINUE;
}

static mg_verdict on_end_of_message(void* instance, mg_session* session) {
    (void)instance;
    g_host->add_header(session, str("X-Legacy"), str("1.0"));
    return MG_CONTINUE;
}

/* Only the ABI 1.0 part of today's descriptor is filled, and struct_size says so. */
static const mg_plugin_descriptor descriptor = {
    (uint32_t)offsetof(mg_plugin_descriptor, on_data),
    (uint32_t)(1u << 16), /* ABI 1.0 */
    "legacy_plugin",
    "1.0.0",
    create,
    NULL,
    NULL,
    NULL,
    NULL,
    on_rcpt_to,
    on_end_of_message,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    0,
    0,
};

const mg_plugin_descriptor* mailgate_plugin_entry(void) {
    return &descriptor;
}
