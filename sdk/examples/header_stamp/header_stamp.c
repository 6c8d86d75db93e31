/*
 * header_stamp: adds one configured header to every message at end of message. Plain C11 against
 * <mailgate/plugin.h>, with no other dependency.
 *
 *   config:
 *     header: X-Stamp              # the header name (default X-Stamp)
 *     value: "checked by mailgate" # the header value (default "stamped")
 *
 * The config arrives as YAML text. This example reads only a flat `key: value` mapping (plain,
 * 'single' or "double" quoted scalars); a real plugin would use a YAML library.
 */
#include <mailgate/plugin.h>

#include <stdlib.h>
#include <string.h>

MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void);

enum { MAX_VALUE = 900 }; /* a header line stays under the 998-octet limit */

/* Read-only after create: shared by every session on every thread without locks. */
typedef struct stamp {
    const mg_host* host;
    char name[80];
    char value[MAX_VALUE + 1];
} stamp;

static mg_str text(const char* s) {
    mg_str result = {s, strlen(s)};
    return result;
}

/* ---- config ------------------------------------------------------------------------------- */

static int valid_name(const char* name) {
    if (*name == '\0') {
        return 0;
    }
    for (; *name != '\0'; ++name) {
        const unsigned char c = (unsigned char)*name;
        if (c <= 0x20 || c >= 0x7f || c == ':') {
            return 0;
        }
    }
    return 1;
}

static int valid_value(const char* value) {
    for (; *value != '\0'; ++value) {
        const unsigned char c = (unsigned char)*value;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Removes quotes from the scalar at `p`, in place. Returns NULL when it is malformed. */
static char* scalar(char* p) {
    const char quote = *p;
    char* out = p;
    char* in = p + 1;
    if (quote != '"' && quote != '\'') {
        return strcmp(p, "~") == 0 ? NULL : p; /* ~ is YAML's null */
    }
    for (; *in != quote || (quote == '\'' && in[1] == '\''); ++in) {
        if (*in == '\0') {
            return NULL;
        }
        if ((quote == '\'' && *in == '\'') || (quote == '"' && *in == '\\')) {
            ++in; /* '' in single quotes; \" \\ \t in double quotes */
            if (quote == '"' && *in != '"' && *in != '\\' && *in != 't') {
                return NULL;
            }
            *out++ = *in == 't' && quote == '"' ? '\t' : *in;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return in[1] == '\0' ? p : NULL;
}

static int copy_setting(char* field, size_t size, const char* value) {
    if (strlen(value) >= size) {
        return 0;
    }
    strcpy(field, value);
    return 1;
}

/* Applies one "key: value" line; returns 0 after reporting an error. */
static int apply_line(stamp* self, mg_load_context* load, char* line) {
    const mg_host* host = self->host;
    char* colon = strstr(line, ": ");
    char* value;
    if (*line == '\0' || strcmp(line, "{}") == 0) {
        return 1;
    }
    if (colon == NULL) {
        host->config_error(load, "", text("expected 'header: NAME' and 'value: TEXT' lines"));
        return 0;
    }
    *colon = '\0';
    value = scalar(colon + 2);
    if (strcmp(line, "header") == 0) {
        if (value == NULL || !valid_name(value) ||
            !copy_setting(self->name, sizeof self->name, value)) {
            host->config_error(load, "header",
                               text("must be a header name: printable ASCII, "
                                    "no ':' or space, at most 79 characters"));
            return 0;
        }
    } else if (strcmp(line, "value") == 0) {
        if (value == NULL || !valid_value(value) ||
            !copy_setting(self->value, sizeof self->value, value)) {
            host->config_error(load, "value",
                               text("must be one line of text, at most 900 "
                                    "characters, without control characters"));
            return 0;
        }
    } else {
        host->config_error(load, line, text("unknown key (expected 'header' or 'value')"));
        return 0;
    }
    return 1;
}

/* Returns the number of errors reported. */
static int parse_config(stamp* self, mg_load_context* load, mg_str yaml) {
    char* copy = malloc(yaml.len + 1);
    char* line;
    int errors = 0;
    if (copy == NULL) {
        self->host->config_error(load, "", text("out of memory"));
        return 1;
    }
    if (yaml.len > 0) {
        memcpy(copy, yaml.data, yaml.len);
    }
    copy[yaml.len] = '\0';
    for (line = copy; line != NULL;) {
        char* newline = strchr(line, '\n');
        if (newline != NULL) {
            *newline = '\0';
        }
        errors += !apply_line(self, load, line);
        line = newline != NULL ? newline + 1 : NULL;
    }
    free(copy);
    return errors;
}

/* ---- the plugin --------------------------------------------------------------------------- */

static void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    stamp* self;
    if (host->struct_size < sizeof(mg_host)) {
        host->config_error(load, "", text("this mailgate is older than the plugin's SDK"));
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (self == NULL) {
        host->config_error(load, "", text("out of memory"));
        return NULL;
    }
    self->host = host;
    strcpy(self->name, "X-Stamp");
    strcpy(self->value, "stamped");
    if (parse_config(self, load, yaml_config) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

static void destroy(void* instance) {
    free(instance);
}

static mg_verdict on_end_of_message(void* instance, mg_session* session) {
    const stamp* self = instance;
    if (self->host->add_header(session, text(self->name), text(self->value)) != 0) {
        self->host->log(session, MG_LOG_WARNING, text("could not add the header"));
    }
    return MG_CONTINUE;
}

static const mg_plugin_descriptor descriptor = {
    sizeof(mg_plugin_descriptor),
    MAILGATE_ABI_VERSION,
    "header_stamp",
    "1.0.0",
    create,
    destroy,
    NULL, /* on_connect */
    NULL, /* on_helo */
    NULL, /* on_mail_from */
    NULL, /* on_rcpt_to */
    on_end_of_message,
    NULL,                  /* on_close */
    NULL,                  /* on_data */
    NULL,                  /* on_headers */
    NULL,                  /* on_body_chunk */
    NULL,                  /* on_reset */
    MG_EDIT_ADD_HEADER,    /* edits: the only one it makes */
    MG_PLUGIN_NONBLOCKING, /* flags: never blocks, runs on the I/O threads */
};

const mg_plugin_descriptor* mailgate_plugin_entry(void) {
    return &descriptor;
}
