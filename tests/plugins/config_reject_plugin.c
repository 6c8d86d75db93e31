/*
 * config_reject_plugin: refuses its config unless the text contains "option: yes", reporting the
 * error at path "option". Lets integration tests check how plugin config errors are shown.
 */
#include <mailgate/plugin.h>

#include <string.h>

MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void);

static const char accepted_text[] = "option: yes";
static const char error_text[] = "this plugin rejects its config: 'option' must be 'yes'";

/* Any non-NULL pointer will do: the plugin keeps no state. */
static int instance_marker;

static int contains(mg_str haystack, const char* needle) {
    const size_t length = strlen(needle);
    size_t i;
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

static void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    mg_str message;
    if (contains(yaml_config, accepted_text)) {
        return &instance_marker;
    }
    message.data = error_text;
    message.len = strlen(error_text);
    host->config_error(load, "option", message);
    return NULL;
}

static mg_verdict on_connect(void* instance, mg_session* session) {
    (void)instance;
    (void)session;
    return MG_CONTINUE;
}

static const mg_plugin_descriptor descriptor = {
    sizeof(mg_plugin_descriptor),
    MAILGATE_ABI_VERSION,
    "config_reject_plugin",
    "1.0.0",
    create,
    NULL, /* destroy: nothing to free */
    on_connect,
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
