// rewrite: address and header rewriting at end of message; see README.md.
#include <mailgate/plugin.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "message.hpp"
#include "rewrite_config.hpp"
#include "rewriter.hpp"

namespace mailgate::rewrite {
namespace {

using sdk::ConfigErrors;
using sdk::LogLevel;
using sdk::Session;
using sdk::Verdict;

// The Message the rewriter edits, over the host's session.
class SessionMessage final : public Message {
  public:
    explicit SessionMessage(const Session& session) : session_(session) {}

    std::string_view sender() const override { return session_.mail_from(); }
    std::vector<std::string> recipients() const override {
        std::vector<std::string> out;
        for (const std::string_view rcpt : session_.recipients()) {
            out.emplace_back(rcpt);
        }
        return out;
    }
    std::string_view clientAddress() const override { return session_.client_address(); }
    size_t headerCount() const override { return session_.headers().size(); }
    Field headerAt(size_t index) const override {
        const sdk::Header header = session_.headers()[index];
        return {header.name, header.value};
    }

    bool changeSender(std::string_view address) override { return session_.change_sender(address); }
    bool addRecipient(std::string_view address) override { return session_.add_recipient(address); }
    bool deleteRecipient(std::string_view address) override {
        return session_.delete_recipient(address);
    }
    bool addHeader(std::string_view name, std::string_view value) override {
        return session_.add_header(name, value);
    }
    bool insertHeader(size_t index, std::string_view name, std::string_view value) override {
        return session_.insert_header(index, name, value);
    }
    bool changeHeader(std::string_view name, size_t nth, std::string_view value) override {
        return session_.change_header(name, nth, value);
    }
    bool deleteHeader(std::string_view name, size_t nth) override {
        return session_.delete_header(name, nth);
    }
    void warn(const std::string& text) override { session_.log(LogLevel::Warning, text); }

  private:
    const Session& session_;
};

class RewritePlugin final : public sdk::Plugin {
  public:
    static constexpr std::uint32_t edits = MG_EDIT_ADD_HEADER | MG_EDIT_CHANGE_HEADER |
                                           MG_EDIT_CHANGE_SENDER | MG_EDIT_ADD_RCPT |
                                           MG_EDIT_DELETE_RCPT;
    static constexpr bool nonblocking = true;  // table lookups and RE2 matches: pure CPU

    static std::unique_ptr<RewritePlugin> create(std::string_view yaml, ConfigErrors& errors) {
        ConfigParseResult parsed = parseRewriteConfig(yaml);
        for (const ConfigIssue& issue : parsed.errors) {
            errors.add(issue.path, issue.message);
        }
        if (!parsed.errors.empty()) {
            return nullptr;
        }
        return std::unique_ptr<RewritePlugin>(new RewritePlugin(std::move(parsed.config)));
    }

    Verdict on_end_of_message(Session& session) const override {
        SessionMessage message(session);
        rewriteMessage(config_, message);
        return Verdict::Continue;
    }

  private:
    explicit RewritePlugin(RewriteConfig config) : config_(std::move(config)) {}

    const RewriteConfig config_;  // read-only after create: shared by every thread
};

}  // namespace
}  // namespace mailgate::rewrite

MAILGATE_PLUGIN(mailgate::rewrite::RewritePlugin, "rewrite", "0.1.0")
