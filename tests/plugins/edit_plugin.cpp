// edit_plugin: drives the ABI 1.2 edits, pending completion and failures through the C++ wrapper,
// for the integration tests. Built twice: edit_plugin declares every edit; undeclared_edit_plugin
// (EDIT_PLUGIN_DECLARES_NOTHING) declares none, so the host must refuse its edits.
//
// Config: flat `key: value` lines. At `stage` (headers | body_chunk | end_of_message, default
// end_of_message) the plugin, in this order:
//   log_message: yes            logs the envelope and headers it sees ("sees from=<..> ...")
//   throw: yes                  throws std::runtime_error
//   insert_header: 0 X-First: one
//   change_header: Subject 1 new value
//   delete_header: X-Drop 1
//   add_header: X-Added: yes
//   replace_body: line one|line two      (| becomes CRLF)
//   change_sender: new@example.test      (<> for the null sender)
//   add_rcpt / delete_rcpt / reject_rcpt: user@example.test
//   pending_ms: 300             returns Pending; a thread completes with `verdict` after 300 ms
//   verdict: continue           continue | accept | reject | tempfail | discard | quarantine
// Every edit logs "edit NAME ok" or "edit NAME refused". on_reset logs "reset".
#include <mailgate/plugin.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using mailgate::sdk::Completion;
using mailgate::sdk::ConfigError;
using mailgate::sdk::LogLevel;
using mailgate::sdk::Session;
using mailgate::sdk::Verdict;

std::string trim(std::string text) {
    const auto first = text.find_first_not_of(" \t\r");
    const auto last = text.find_last_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    text = text.substr(first, last - first + 1);
    if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
        text.back() == text.front()) {
        text = text.substr(1, text.size() - 2);
    }
    return text;
}

Verdict verdictNamed(const std::string& name) {
    static const std::map<std::string, Verdict> names = {
        {"continue", Verdict::Continue}, {"accept", Verdict::Accept},
        {"reject", Verdict::Reject},     {"tempfail", Verdict::Tempfail},
        {"discard", Verdict::Discard},   {"quarantine", Verdict::Quarantine}};
    const auto found = names.find(name);
    if (found == names.end()) {
        throw ConfigError("verdict", "unknown verdict '" + name + "'");
    }
    return found->second;
}

class EditPlugin final : public mailgate::sdk::Plugin {
  public:
#ifdef EDIT_PLUGIN_DECLARES_NOTHING
    static constexpr std::uint32_t edits = MG_EDIT_ADD_HEADER;
#else
    static constexpr std::uint32_t edits = MG_EDIT_ADD_HEADER | MG_EDIT_CHANGE_HEADER |
                                           MG_EDIT_REPLACE_BODY | MG_EDIT_CHANGE_SENDER |
                                           MG_EDIT_ADD_RCPT | MG_EDIT_DELETE_RCPT;
#endif
    static constexpr bool nonblocking = true;

    explicit EditPlugin(std::string_view yaml) {
        std::string text(yaml);
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) {
                end = text.size();
            }
            const std::string line = text.substr(start, end - start);
            start = end + 1;
            const auto colon = line.find(':');
            if (trim(line).empty() || trim(line) == "{}" || colon == std::string::npos) {
                continue;
            }
            settings_[trim(line.substr(0, colon))] = trim(line.substr(colon + 1));
        }
        verdict_ = verdictNamed(setting("verdict", "continue"));
        stage_ = setting("stage", "end_of_message");
        if (stage_ != "headers" && stage_ != "body_chunk" && stage_ != "end_of_message") {
            throw ConfigError("stage", "must be headers, body_chunk or end_of_message");
        }
    }

    ~EditPlugin() override {
        std::vector<std::thread> threads;
        {
            const std::lock_guard lock(mutex_);
            threads.swap(threads_);
        }
        for (auto& thread : threads) {
            if (thread.get_id() == std::this_thread::get_id()) {
                thread.detach();  // destroyed from our own completing thread
            } else if (thread.joinable()) {
                thread.join();
            }
        }
    }

    Verdict on_headers(Session& session) const override {
        return at("headers", session);
    }
    Verdict on_body_chunk(Session& session) const override {
        // Act once, on the first piece.
        if (session.transaction_data<int>() != nullptr) {
            return Verdict::Continue;
        }
        session.set_transaction_data(std::make_unique<int>(1));
        return at("body_chunk", session);
    }
    Verdict on_end_of_message(Session& session) const override {
        return at("end_of_message", session);
    }
    void on_reset(Session& session) const override {
        session.log(LogLevel::Info, "reset");
    }

  private:
    std::string setting(const std::string& key, const std::string& fallback = {}) const {
        const auto found = settings_.find(key);
        return found == settings_.end() ? fallback : found->second;
    }
    bool has(const std::string& key) const {
        return settings_.contains(key);
    }

    static void report(const Session& session, const std::string& edit, bool ok) {
        session.log(LogLevel::Info, "edit " + edit + (ok ? " ok" : " refused"));
    }

    void logMessage(const Session& session) const {
        std::string line = "sees from=<" + std::string(session.mail_from()) + "> to=";
        for (const auto rcpt : session.recipients()) {
            line += "<" + std::string(rcpt) + ">";
        }
        line += " headers=";
        for (const auto& field : session.headers()) {
            line += std::string(field.name) + ";";
        }
        line += " body_octets=" + std::to_string(session.body().size());
        session.log(LogLevel::Info, line);
    }

    void edit(const Session& session) const {
        if (has("insert_header")) {
            const std::string spec = setting("insert_header");
            const auto space = spec.find(' ');
            const auto colon = spec.find(':');
            report(session, "insert_header",
                   session.insert_header(std::stoul(spec.substr(0, space)),
                                         spec.substr(space + 1, colon - space - 1),
                                         trim(spec.substr(colon + 1))));
        }
        if (has("change_header")) {
            const std::string spec = setting("change_header");
            const auto first = spec.find(' ');
            const auto second = spec.find(' ', first + 1);
            report(session, "change_header",
                   session.change_header(spec.substr(0, first),
                                         std::stoul(spec.substr(first + 1, second - first - 1)),
                                         spec.substr(second + 1)));
        }
        if (has("delete_header")) {
            const std::string spec = setting("delete_header");
            const auto space = spec.find(' ');
            report(
                session, "delete_header",
                session.delete_header(spec.substr(0, space), std::stoul(spec.substr(space + 1))));
        }
        if (has("add_header")) {
            const std::string spec = setting("add_header");
            const auto colon = spec.find(':');
            report(session, "add_header",
                   session.add_header(spec.substr(0, colon), trim(spec.substr(colon + 1))));
        }
        if (has("replace_body")) {
            std::string body = setting("replace_body");
            for (size_t at = body.find('|'); at != std::string::npos; at = body.find('|')) {
                body.replace(at, 1, "\r\n");
            }
            report(session, "replace_body", session.replace_body(body));
        }
        if (has("change_sender")) {
            const std::string sender = setting("change_sender");
            report(session, "change_sender", session.change_sender(sender == "<>" ? "" : sender));
        }
        if (has("add_rcpt")) {
            report(session, "add_rcpt", session.add_recipient(setting("add_rcpt")));
        }
        if (has("delete_rcpt")) {
            report(session, "delete_rcpt", session.delete_recipient(setting("delete_rcpt")));
        }
        if (has("reject_rcpt")) {
            report(session, "reject_rcpt",
                   session.reject_recipient(setting("reject_rcpt"), 550, "5.7.1",
                                            "Refused for this recipient by edit_plugin"));
        }
    }

    Verdict at(const char* stage, Session& session) const {
        if (stage_ != stage) {
            return Verdict::Continue;
        }
        if (setting("log_message") == "yes") {
            logMessage(session);
        }
        if (setting("throw") == "yes") {
            throw std::runtime_error("edit_plugin was told to throw");
        }
        edit(session);
        if (has("pending_ms")) {
            const auto delay = std::chrono::milliseconds(std::stol(setting("pending_ms")));
            const Completion completion(session);
            const Verdict verdict = verdict_;
            const std::lock_guard lock(mutex_);
            threads_.emplace_back([completion, delay, verdict] {
                std::this_thread::sleep_for(delay);
                const bool taken = completion.complete(verdict);
                static_cast<void>(taken);
            });
            return Verdict::Pending;
        }
        return verdict_;
    }

    std::map<std::string, std::string> settings_;
    std::string stage_;
    Verdict verdict_ = Verdict::Continue;
    mutable std::mutex mutex_;
    mutable std::vector<std::thread> threads_;
};

}  // namespace

#ifdef EDIT_PLUGIN_DECLARES_NOTHING
MAILGATE_PLUGIN(EditPlugin, "undeclared_edit_plugin", "1.0.0")
#else
MAILGATE_PLUGIN(EditPlugin, "edit_plugin", "1.0.0")
#endif
