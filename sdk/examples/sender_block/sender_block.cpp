// sender_block: refuses MAIL FROM senders whose domain is on a list, with 550 5.7.1. Written
// against the C++ wrapper <mailgate/plugin.hpp>; reads its config with yaml-cpp.
//
//   config:
//     domains: [spam.example, .bulk.example]  # ".name" blocks every subdomain of name
//     message: "Sender domain blocked"         # optional reply text
#include <mailgate/plugin.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using mailgate::sdk::ConfigErrors;
using mailgate::sdk::LogLevel;
using mailgate::sdk::Session;
using mailgate::sdk::Verdict;

constexpr std::size_t kMaxEchoedSender = 256;

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
    return out;
}

// Letters, digits and '-' in labels separated by single dots; one leading dot allowed.
bool validDomainEntry(std::string_view entry) {
    if (!entry.empty() && entry.front() == '.') {
        entry.remove_prefix(1);
    }
    if (entry.empty() || entry.size() > 253 || entry.front() == '.' || entry.back() == '.' ||
        entry.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(entry.begin(), entry.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
    });
}

// Reply text: the host refuses control characters and long lines.
bool validMessage(std::string_view text) {
    return !text.empty() && text.size() <= 200 &&
           std::none_of(text.begin(), text.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

class SenderBlock final : public mailgate::sdk::Plugin {
  public:
    // A lookup in a table built at load time: it never blocks, so it runs on the I/O threads.
    static constexpr bool nonblocking = true;

    // Reports every mistake in the config; returns nullptr if there was one.
    static std::unique_ptr<SenderBlock> create(std::string_view yaml, ConfigErrors& errors) {
        const YAML::Node root = YAML::Load(std::string(yaml));
        if (!root.IsMap()) {
            errors.add("", "expected a mapping with 'domains' (and optionally 'message')");
            return nullptr;
        }
        std::vector<std::string> domains;
        std::string message = "Sender domain blocked";
        for (const auto& item : root) {
            const std::string key = item.first.as<std::string>();
            if (key == "domains") {
                domains = readDomains(item.second, errors);
            } else if (key == "message" && item.second.IsScalar() &&
                       validMessage(item.second.Scalar())) {
                message = item.second.Scalar();
            } else if (key == "message") {
                errors.add("message", "expected 1 to 200 printable characters");
            } else {
                errors.add(key, "unknown key (expected 'domains' or 'message')");
            }
        }
        if (!root["domains"]) {
            errors.add("", "'domains' is required: the list of sender domains to block");
        }
        if (!errors.empty()) {
            return nullptr;
        }
        return std::unique_ptr<SenderBlock>(new SenderBlock(std::move(domains), message));
    }

    Verdict on_mail_from(Session& session) const override {
        const std::string_view sender = session.mail_from();
        const std::size_t at = sender.rfind('@');
        if (at == std::string_view::npos) {
            return Verdict::Continue;  // the null sender <> or a bare local part
        }
        const std::string domain = lowercase(sender.substr(at + 1));
        if (!blocked(domain)) {
            return Verdict::Continue;
        }
        const std::string shown(sender.substr(0, kMaxEchoedSender));
        session.log(LogLevel::Info, "sender <" + shown + "> refused: domain " + domain);
        return session.reject(550, "5.7.1", "<" + shown + ">: " + message_);
    }

  private:
    SenderBlock(std::vector<std::string> domains, std::string message)
        : domains_(std::move(domains)), message_(std::move(message)) {}

    static std::vector<std::string> readDomains(const YAML::Node& node, ConfigErrors& errors) {
        std::vector<std::string> domains;
        if (!node.IsSequence()) {
            errors.add("domains", "expected a list of domain names");
            return domains;
        }
        for (std::size_t i = 0; i < node.size(); ++i) {
            const std::string path = "domains[" + std::to_string(i) + "]";
            if (!node[i].IsScalar() || !validDomainEntry(node[i].Scalar())) {
                errors.add(path, "'" + (node[i].IsScalar() ? node[i].Scalar() : "?") +
                                     "' is not a domain name (like spam.example, or "
                                     ".spam.example for its subdomains)");
                continue;
            }
            domains.push_back(lowercase(node[i].Scalar()));
        }
        return domains;
    }

    // Read-only after create: safe to call from every I/O thread at once.
    bool blocked(std::string_view domain) const {
        return std::any_of(domains_.begin(), domains_.end(), [&](const std::string& entry) {
            if (entry.front() == '.') {  // every subdomain, not the domain itself
                return domain.size() > entry.size() && domain.ends_with(entry);
            }
            return domain == entry;
        });
    }

    std::vector<std::string> domains_;  // lowercase
    std::string message_;
};

}  // namespace

MAILGATE_PLUGIN(SenderBlock, "sender_block", "1.0.0")
