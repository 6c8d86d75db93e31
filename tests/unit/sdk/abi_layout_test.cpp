// Freezes the plugin ABI: a change that moves a field breaks every plugin already built, so it
// must fail here first. Fields may only be appended (and this test extended).
#include <mailgate/plugin.h>

#include <cstddef>

#include <gtest/gtest.h>

static_assert(MAILGATE_ABI_VERSION_MAJOR == 1);
static_assert(sizeof(void*) == 8, "the layout below is for LP64 platforms");

static_assert(sizeof(mg_str) == 16);
static_assert(offsetof(mg_str, data) == 0);
static_assert(offsetof(mg_str, len) == 8);

static_assert(MG_CONTINUE == 0 && MG_ACCEPT == 1 && MG_REJECT == 2 && MG_TEMPFAIL == 3 &&
              MG_DISCARD == 4 && MG_DISCONNECT == 5);
static_assert(MG_PENDING == 6 && MG_QUARANTINE == 7 && MG_ERROR == 8);
static_assert(MG_EDIT_ADD_HEADER == 1 && MG_EDIT_CHANGE_HEADER == 2 && MG_EDIT_REPLACE_BODY == 4 &&
              MG_EDIT_CHANGE_SENDER == 8 && MG_EDIT_ADD_RCPT == 16 && MG_EDIT_DELETE_RCPT == 32);
static_assert(MG_PLUGIN_NONBLOCKING == 1);
static_assert(MG_LOG_DEBUG == 0 && MG_LOG_INFO == 1 && MG_LOG_WARNING == 2 && MG_LOG_ERROR == 3);

static_assert(offsetof(mg_host, struct_size) == 0);
static_assert(offsetof(mg_host, abi_version) == 4);
static_assert(offsetof(mg_host, log) == 8);
static_assert(offsetof(mg_host, config_error) == 16);
static_assert(offsetof(mg_host, set_reply) == 24);
static_assert(offsetof(mg_host, session_id) == 32);
static_assert(offsetof(mg_host, client_address) == 40);
static_assert(offsetof(mg_host, client_port) == 48);
static_assert(offsetof(mg_host, helo) == 56);
static_assert(offsetof(mg_host, mail_from) == 64);
static_assert(offsetof(mg_host, rcpt_count) == 72);
static_assert(offsetof(mg_host, rcpt_at) == 80);
static_assert(offsetof(mg_host, current_rcpt) == 88);
static_assert(offsetof(mg_host, header_count) == 96);
static_assert(offsetof(mg_host, header_at) == 104);
static_assert(offsetof(mg_host, body) == 112);
static_assert(offsetof(mg_host, add_header) == 120);
// ABI 1.1
static_assert(offsetof(mg_host, local_address) == 128);
static_assert(offsetof(mg_host, local_port) == 136);
static_assert(offsetof(mg_host, mail_param_count) == 144);
static_assert(offsetof(mg_host, mail_param_at) == 152);
static_assert(offsetof(mg_host, add_symbol) == 160);
static_assert(offsetof(mg_host, score) == 168);
static_assert(offsetof(mg_host, symbol_count) == 176);
static_assert(offsetof(mg_host, symbol_at) == 184);
static_assert(offsetof(mg_host, set_session_data) == 192);
static_assert(offsetof(mg_host, session_data) == 200);
static_assert(offsetof(mg_host, set_transaction_data) == 208);
static_assert(offsetof(mg_host, transaction_data) == 216);
// ABI 1.2
static_assert(offsetof(mg_host, complete) == 224);
static_assert(offsetof(mg_host, tls) == 232);
static_assert(offsetof(mg_host, auth_identity) == 240);
static_assert(offsetof(mg_host, body_chunk) == 248);
static_assert(offsetof(mg_host, message_size) == 256);
static_assert(offsetof(mg_host, insert_header) == 264);
static_assert(offsetof(mg_host, change_header) == 272);
static_assert(offsetof(mg_host, delete_header) == 280);
static_assert(offsetof(mg_host, replace_body) == 288);
static_assert(offsetof(mg_host, change_sender) == 296);
static_assert(offsetof(mg_host, add_rcpt) == 304);
static_assert(offsetof(mg_host, delete_rcpt) == 312);
static_assert(offsetof(mg_host, reject_rcpt) == 320);
// ABI 1.3
static_assert(offsetof(mg_host, log_enabled) == 328);
static_assert(sizeof(mg_host) == 336);

static_assert(offsetof(mg_plugin_descriptor, struct_size) == 0);
static_assert(offsetof(mg_plugin_descriptor, abi_version) == 4);
static_assert(offsetof(mg_plugin_descriptor, name) == 8);
static_assert(offsetof(mg_plugin_descriptor, version) == 16);
static_assert(offsetof(mg_plugin_descriptor, create) == 24);
static_assert(offsetof(mg_plugin_descriptor, destroy) == 32);
static_assert(offsetof(mg_plugin_descriptor, on_connect) == 40);
static_assert(offsetof(mg_plugin_descriptor, on_helo) == 48);
static_assert(offsetof(mg_plugin_descriptor, on_mail_from) == 56);
static_assert(offsetof(mg_plugin_descriptor, on_rcpt_to) == 64);
static_assert(offsetof(mg_plugin_descriptor, on_end_of_message) == 72);
static_assert(offsetof(mg_plugin_descriptor, on_close) == 80);
// ABI 1.2
static_assert(offsetof(mg_plugin_descriptor, on_data) == 88);
static_assert(offsetof(mg_plugin_descriptor, on_headers) == 96);
static_assert(offsetof(mg_plugin_descriptor, on_body_chunk) == 104);
static_assert(offsetof(mg_plugin_descriptor, on_reset) == 112);
static_assert(offsetof(mg_plugin_descriptor, edits) == 120);
static_assert(offsetof(mg_plugin_descriptor, flags) == 124);
static_assert(sizeof(mg_plugin_descriptor) == 128);

// A host table of ABI 1.0 size lacks the 1.1 fields; the full one has them.
TEST(AbiLayoutTest, HostHasChecksTheSize) {
    mg_host host{};
    host.struct_size = offsetof(mg_host, local_address);
    EXPECT_TRUE(MG_HOST_HAS(&host, add_header));
    EXPECT_FALSE(MG_HOST_HAS(&host, local_address));
    host.struct_size = offsetof(mg_host, complete);  // ABI 1.1
    EXPECT_TRUE(MG_HOST_HAS(&host, transaction_data));
    EXPECT_FALSE(MG_HOST_HAS(&host, complete));
    host.struct_size = offsetof(mg_host, log_enabled);  // ABI 1.2
    EXPECT_TRUE(MG_HOST_HAS(&host, reject_rcpt));
    EXPECT_FALSE(MG_HOST_HAS(&host, log_enabled));
    host.struct_size = sizeof(mg_host);
    EXPECT_TRUE(MG_HOST_HAS(&host, log_enabled));
}

// The version word packs major and minor as documented.
TEST(AbiLayoutTest, VersionWord) {
    EXPECT_EQ(MAILGATE_ABI_VERSION >> 16, static_cast<uint32_t>(MAILGATE_ABI_VERSION_MAJOR));
    EXPECT_EQ(MAILGATE_ABI_VERSION & 0xffff, static_cast<uint32_t>(MAILGATE_ABI_VERSION_MINOR));
}
