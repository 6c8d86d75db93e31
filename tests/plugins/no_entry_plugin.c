/*
 * no_entry_plugin: a well-formed shared library that does not export mailgate_plugin_entry, so
 * the host must refuse it and say which symbol is missing.
 */
#include <mailgate/plugin.h>

/* Exported so the library is not empty; the host never looks for it. */
MAILGATE_PLUGIN_EXPORT int no_entry_plugin_marker(void);

int no_entry_plugin_marker(void) {
    return MAILGATE_ABI_VERSION_MAJOR;
}
