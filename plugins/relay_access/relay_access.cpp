// relay_access: the no-open-relay plugin. One hook, rcpt_to; see README.md.
#include <mailgate/plugin.h>

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "relay_config.hpp"
#include "relay_policy.hpp"

namespace {

using mailgate::relay_access::ConfigParseResult;
using mailgate::relay_access::parseRelayConfig;
using mailgate::relay_access::RelayDecision;
using mailgate::relay_access::RelayPolicy;

// Every host function this plugin calls exists since ABI 1.0; current_rcpt is the last of them.
constexpr size_t kHostSizeNeeded = offsetof(mg_host, current_rcpt) + sizeof(mg_host::current_rcpt);
constexpr size_t kMaxEchoedRecipient = 256;

// Read-only after create, so sessions on every thread share it without locks.
struct Instance {
    const mg_host* host;
    RelayPolicy policy;
    std::string reject_message;
    bool allow_authenticated;
};

mg_str toMgStr(std::string_view text) {
    return mg_str{text.data(), text.size()};
}

std::string_view toView(mg_str text) {
    return text.data == nullptr ? std::string_view() : std::string_view(text.data, text.len);
}

// Client-supplied text for a reply or a log line: no control characters, bounded length.
std::string printable(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, kMaxEchoedRecipient)) {
        const auto byte = static_cast<unsigned char>(c);
        out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
    }
    if (text.size() > kMaxEchoedRecipient) {
        out += "...";
    }
    return out;
}

bool hostIsUsable(const mg_host* host) {
    return host != nullptr && host->struct_size >= kHostSizeNeeded && host->log != nullptr &&
           host->config_error != nullptr && host->set_reply != nullptr &&
           host->client_address != nullptr && host->current_rcpt != nullptr;
}

void* buildInstance(const mg_host* host, mg_load_context* load, mg_str yaml_config) {
    ConfigParseResult parsed = parseRelayConfig(toView(yaml_config));
    for (const auto& error : parsed.errors) {
        host->config_error(load, error.path.c_str(), toMgStr(error.message));
    }
    if (!parsed.errors.empty()) {
        return nullptr;
    }
    for (const auto& warning : parsed.warnings) {
        const std::string line = warning.path + ": " + warning.message;
        host->log(nullptr, MG_LOG_WARNING, toMgStr(line));
    }
    if (parsed.config.allow_authenticated && !MG_HOST_HAS(host, auth_identity)) {
        host->config_error(load, "allow_authenticated",
                           toMgStr("needs a host with auth_identity (ABI 1.2)"));
        return nullptr;
    }
    RelayPolicy policy(std::move(parsed.config.trusted_networks),
                       std::move(parsed.config.local_domains));
    return new Instance{host, std::move(policy), std::move(parsed.config.reject_message),
                        parsed.config.allow_authenticated};
}

void* create(const mg_host* host, mg_load_context* load, mg_str yaml_config) noexcept {
    if (!hostIsUsable(host)) {
        if (host != nullptr && host->config_error != nullptr) {
            host->config_error(load, "", toMgStr("the host lacks functions relay_access needs"));
        }
        return nullptr;
    }
    try {
        return buildInstance(host, load, yaml_config);
    } catch (const std::exception& error) {
        host->config_error(load, "", toMgStr(error.what()));
    } catch (...) {
        host->config_error(load, "", toMgStr("unexpected error while reading the config"));
    }
    return nullptr;
}

void destroy(void* instance) noexcept {
    delete static_cast<Instance*>(instance);
}

// Debug lines are built for every recipient only when they are written (ABI 1.3 tells; an
// older host cannot, so they are built there).
bool debugLogged(const mg_host* host, mg_session* session) {
    return !MG_HOST_HAS(host, log_enabled) || host->log_enabled(session, MG_LOG_DEBUG) != 0;
}

mg_verdict decide(const Instance& self, mg_session* session) {
    const mg_host* host = self.host;
    const std::string_view client = toView(host->client_address(session));
    const std::string_view recipient = toView(host->current_rcpt(session));
    if (self.allow_authenticated) {
        // Checked at create: the host has auth_identity.
        const std::string_view identity = toView(host->auth_identity(session));
        if (!identity.empty()) {
            if (debugLogged(host, session)) {
                host->log(session, MG_LOG_DEBUG,
                          toMgStr("relay allowed for <" + printable(recipient) +
                                  ">: authenticated as " + printable(identity)));
            }
            return MG_ACCEPT;
        }
    }
    const RelayDecision decision = self.policy.decide(client, recipient);
    const auto subject = [&] {
        return "<" + printable(recipient) + "> from " + printable(client) + ": " +
               std::string(describe(decision.reason));
    };
    if (decision.accepted) {
        if (debugLogged(host, session)) {
            host->log(session, MG_LOG_DEBUG, toMgStr("relay allowed for " + subject()));
        }
        return MG_ACCEPT;
    }
    const std::string text = "<" + printable(recipient) + ">: " + self.reject_message;
    static_cast<void>(host->set_reply(session, 550, toMgStr("5.7.1"), toMgStr(text)));
    host->log(session, MG_LOG_INFO, toMgStr("relay refused for " + subject()));
    return MG_REJECT;
}

mg_verdict onRcptTo(void* instance, mg_session* session) noexcept {
    const auto& self = *static_cast<const Instance*>(instance);
    try {
        return decide(self, session);
    } catch (...) {
        // Out of memory, most likely: ask the client to retry rather than guess.
        self.host->log(session, MG_LOG_ERROR, toMgStr("internal error; recipient tempfailed"));
        static_cast<void>(self.host->set_reply(session, 451, toMgStr("4.3.0"),
                                               toMgStr("Temporary local problem, try later")));
        return MG_TEMPFAIL;
    }
}

const mg_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(mg_plugin_descriptor),
    .abi_version = MAILGATE_ABI_VERSION,
    .name = "relay_access",
    .version = "0.1.0",
    .create = create,
    .destroy = destroy,
    .on_connect = nullptr,
    .on_helo = nullptr,
    .on_mail_from = nullptr,
    .on_rcpt_to = onRcptTo,
    .on_end_of_message = nullptr,
    .on_close = nullptr,
    .on_data = nullptr,
    .on_headers = nullptr,
    .on_body_chunk = nullptr,
    .on_reset = nullptr,
    .edits = 0,
    .flags = MG_PLUGIN_NONBLOCKING,  // table lookups only: run on the I/O threads
};

}  // namespace

extern "C" MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void) {
    return &kDescriptor;
}
