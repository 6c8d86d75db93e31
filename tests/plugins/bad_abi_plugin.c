/*
 * bad_abi_plugin: claims ABI major 99, so a correct host refuses to load it and names both
 * versions in its message. Its create reports an error in case a host calls it anyway.
 */
#include <mailgate/plugin.h>

#include <string.h>

MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void);

#define BAD_ABI_MAJOR 99u
#define BAD_ABI_VERSION ((uint32_t)((BAD_ABI_MAJOR << 16) | MAILGATE_ABI_VERSION_MINOR))

static void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    static const char message[] = "bad_abi_plugin must never be created: it claims ABI 99";
    mg_str text;
    (void)yaml_config;
    text.data = message;
    text.len = strlen(message);
    host->config_error(load, "", text);
    return NULL;
}

static const mg_plugin_descriptor descriptor = {
    sizeof(mg_plugin_descriptor),
    BAD_ABI_VERSION,
    "bad_abi_plugin",
    "99.0.0",
    create,
    NULL, /* destroy */
    NULL, /* on_connect */
    NULL, /* on_helo */
    NULL, /* on_mail_from */
    NULL, /* on_rcpt_to */
    NULL, /* on_end_of_message */
    NULL, /* on_close */
    NULL, /* on_data */
    NULL, /* on_headers */
    NULL, /* on_body_chunk */
    NULL, /* on_reset */
    0,    /* edits */
    0,    /* flags */
};

const mg_plugin_descriptor* mailgate_plugin_entry(void) {
    return &descriptor;
}
