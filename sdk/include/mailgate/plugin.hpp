/**
 * @file plugin.hpp
 * @brief A header-only C++20 wrapper over the C plugin ABI in plugin.h.
 *
 * Derive a class from mailgate::sdk::Plugin, override the hooks you need, and name the class
 * once with MAILGATE_PLUGIN in one source file:
 *
 * @code
 * #include <mailgate/plugin.hpp>
 *
 * class Hello : public mailgate::sdk::Plugin {
 *   public:
 *     explicit Hello(std::string_view yaml_config) { ... parse, throw ConfigError on a mistake }
 *     mailgate::sdk::Verdict on_helo(mailgate::sdk::Session& session) const override {
 *         session.log(mailgate::sdk::LogLevel::Info, "hello " + std::string(session.helo()));
 *         return mailgate::sdk::Verdict::Continue;
 *     }
 * };
 *
 * MAILGATE_PLUGIN(Hello, "hello", "1.0.0")
 * @endcode
 *
 * Everything here is compiled into the plugin: no C++ type, exception or allocation crosses the
 * C boundary. The macro emits the `mailgate_plugin_entry` symbol and a descriptor whose hook
 * pointers are set only for the hooks the class overrides. Every exception a hook throws is
 * caught at the boundary, logged through the host and turned into MG_ERROR, which the host
 * handles with the plugin's `on_error` policy from the YAML; every exception thrown while
 * creating the plugin becomes a configuration error.
 *
 * Declarations, as static members of the class (both optional):
 * @code
 *     static constexpr std::uint32_t edits = MG_EDIT_ADD_HEADER | MG_EDIT_CHANGE_SENDER;
 *     static constexpr bool nonblocking = true;  // hooks never block: run on the I/O threads
 * @endcode
 * Without `edits` the plugin may only add headers; without `nonblocking` its hooks run on the
 * host's worker pool.
 *
 * Thread safety: one plugin object serves every session on every thread at once, which is
 * why the hooks are `const`. Keep what changes after construction in std::atomic or behind a
 * mutex (and mark it `mutable`).
 */
#pragma once

#include <mailgate/plugin.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mailgate::sdk {

/** What a hook decides; each value is the mg_verdict of the same name. */
enum class Verdict : int {
    Continue = MG_CONTINUE,      ///< No opinion: ask the next plugin.
    Accept = MG_ACCEPT,          ///< Accept at this stage; later plugins are not asked.
    Reject = MG_REJECT,          ///< Permanent failure (5xx); see Session::reject().
    Tempfail = MG_TEMPFAIL,      ///< Temporary failure (4xx); see Session::tempfail().
    Discard = MG_DISCARD,        ///< Answer success to the client but deliver nothing.
    Disconnect = MG_DISCONNECT,  ///< Answer 421 and close the connection.
    Pending = MG_PENDING,        ///< Finish later with Completion::complete().
    Quarantine = MG_QUARANTINE,  ///< Deliver to the quarantine folder instead; answer 250.
    Error = MG_ERROR             ///< The hook failed: the host applies the on_error policy.
};

/** Severity of a log line; each value is the mg_log_level of the same name. */
enum class LogLevel : int {
    Debug = MG_LOG_DEBUG,
    Info = MG_LOG_INFO,
    Warning = MG_LOG_WARNING,
    Error = MG_LOG_ERROR
};

/** One header field of the message: name, and value without the colon (folding kept). */
struct Header {
    std::string_view name;
    std::string_view value;
};

namespace detail {

inline mg_str to_mg(std::string_view text) noexcept {
    return mg_str{text.data(), text.size()};
}

inline std::string_view to_view(mg_str text) noexcept {
    return text.data == nullptr ? std::string_view{} : std::string_view{text.data, text.len};
}

inline bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

/**
 * A read-only range over the items a host function returns by index. `Source` is two pointers
 * with `value_type`, `size()` and `at(index)`. The items are views into host memory, valid as
 * long as the Session they come from.
 */
template <class Source>
class IndexedRange {
  public:
    using value_type = typename Source::value_type;

    class iterator {
      public:
        using iterator_concept = std::forward_iterator_tag;
        using iterator_category = std::input_iterator_tag;  // items are values, not references
        using value_type = typename Source::value_type;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = value_type;

        iterator() = default;
        iterator(Source source, std::size_t index) : source_(source), index_(index) {}

        value_type operator*() const { return source_.at(index_); }
        iterator& operator++() {
            ++index_;
            return *this;
        }
        iterator operator++(int) {
            iterator old = *this;
            ++index_;
            return old;
        }
        bool operator==(const iterator& other) const { return index_ == other.index_; }

      private:
        Source source_{};
        std::size_t index_ = 0;
    };

    explicit IndexedRange(Source source) : source_(source), size_(source.size()) {}

    iterator begin() const { return iterator(source_, 0); }
    iterator end() const { return iterator(source_, size_); }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    value_type operator[](std::size_t index) const { return source_.at(index); }

  private:
    Source source_;
    std::size_t size_;
};

struct RecipientSource {
    using value_type = std::string_view;
    const mg_host* host = nullptr;
    mg_session* session = nullptr;
    std::size_t size() const { return host->rcpt_count(session); }
    value_type at(std::size_t index) const { return to_view(host->rcpt_at(session, index)); }
};

struct HeaderSource {
    using value_type = Header;
    const mg_host* host = nullptr;
    mg_session* session = nullptr;
    std::size_t size() const { return host->header_count(session); }
    value_type at(std::size_t index) const {
        mg_str name{nullptr, 0};
        mg_str value{nullptr, 0};
        if (host->header_at(session, index, &name, &value) != 0) {
            return Header{};
        }
        return Header{to_view(name), to_view(value)};
    }
};

}  // namespace detail

/** The recipients of the current transaction, in the order they were accepted. */
using Recipients = detail::IndexedRange<detail::RecipientSource>;
/** The header fields of the message as edited so far, in order, repeated names kept. */
using Headers = detail::IndexedRange<detail::HeaderSource>;

/**
 * The client session a hook is called for: a cheap view over the host table and the opaque
 * mg_session. Valid only during the hook call; so is every std::string_view it returns (copy
 * what you keep). All accessors are safe at every stage and return empty values where the ABI
 * says a fact is not known yet.
 */
class Session {
  public:
    /** Wraps what a C hook receives. Both pointers must outlive this object. */
    Session(const mg_host* host, mg_session* session) noexcept : host_(host), session_(session) {}

    /** The session id used in mailgate's log lines. */
    std::string_view session_id() const { return detail::to_view(host_->session_id(session_)); }
    /** The client's IP address as text ("192.0.2.1", "2001:db8::1"). */
    std::string_view client_address() const {
        return detail::to_view(host_->client_address(session_));
    }
    /** The client's TCP port. */
    std::uint16_t client_port() const { return host_->client_port(session_); }
    /** The HELO/EHLO name; empty before HELO/EHLO. */
    std::string_view helo() const { return detail::to_view(host_->helo(session_)); }

    /** The envelope sender without angle brackets; empty for the null sender `<>` and outside
     *  a transaction (connect, helo, close). */
    std::string_view mail_from() const { return detail::to_view(host_->mail_from(session_)); }
    /** The recipients accepted so far in this transaction (at rcpt_to: not the current one). */
    Recipients recipients() const { return Recipients(detail::RecipientSource{host_, session_}); }
    /** In on_rcpt_to: the recipient being decided on; empty in other hooks. */
    std::string_view current_recipient() const {
        return detail::to_view(host_->current_rcpt(session_));
    }

    /** From on_headers on: the header fields as edited so far. Empty before. */
    Headers headers() const { return Headers(detail::HeaderSource{host_, session_}); }
    /** The value of the first header named `name` (compared ignoring ASCII case), if any. */
    std::optional<std::string_view> header(std::string_view name) const {
        for (const Header& field : headers()) {
            if (detail::equals_ignore_case(field.name, name)) {
                return field.value;
            }
        }
        return std::nullopt;
    }
    /** From on_headers on: the body after the blank line (CRLF line ends, dot-unstuffed). */
    std::string_view body() const { return detail::to_view(host_->body(session_)); }

    /**
     * Appends a header to the message that is forwarded (use it in on_end_of_message).
     * @return false if the name or value is malformed (name: printable ASCII without ':' or
     *         space; value: no bare CR or LF) or there is no message to add it to.
     */
    bool add_header(std::string_view name, std::string_view value) const {
        return host_->add_header(session_, detail::to_mg(name), detail::to_mg(value)) == 0;
    }

    /**
     * Sets the reply used when this hook returns Reject, Tempfail or Disconnect.
     * @param code 5xx for Reject, 4xx for Tempfail, 421 for Disconnect.
     * @param enhanced an enhanced status code of the same class ("5.7.1"), or "" for a default.
     * @param text one line of printable text (at most 400 octets), or "" for a default.
     * @return false if the host refused the reply (it then uses its default for the verdict).
     */
    bool reply(std::uint16_t code, std::string_view enhanced, std::string_view text) const {
        return host_->set_reply(session_, code, detail::to_mg(enhanced), detail::to_mg(text)) == 0;
    }

    /** Sets a 5xx reply and returns Verdict::Reject, for `return session.reject(...);`. */
    Verdict reject(std::uint16_t code, std::string_view enhanced, std::string_view text) const {
        static_cast<void>(reply(code, enhanced, text));
        return Verdict::Reject;
    }
    /** Sets a 4xx reply and returns Verdict::Tempfail. */
    Verdict tempfail(std::uint16_t code, std::string_view enhanced, std::string_view text) const {
        static_cast<void>(reply(code, enhanced, text));
        return Verdict::Tempfail;
    }

    // ---- ABI 1.1 (on an older host these return empty values / false) ----

    /** Our side of the connection. */
    std::string_view local_address() const {
        return MG_HOST_HAS(host_, local_address) ? detail::to_view(host_->local_address(session_))
                                                 : std::string_view{};
    }
    std::uint16_t local_port() const {
        return MG_HOST_HAS(host_, local_port) ? host_->local_port(session_) : 0;
    }

    /** An ESMTP parameter of MAIL FROM ("SIZE", "BODY", "SMTPUTF8"); nullopt when absent, an
     *  empty value for a keyword without one. */
    std::optional<std::string_view> mail_param(std::string_view keyword) const {
        if (!MG_HOST_HAS(host_, mail_param_at)) {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < host_->mail_param_count(session_); ++i) {
            mg_str name{};
            mg_str value{};
            if (host_->mail_param_at(session_, i, &name, &value) == 0 &&
                detail::to_view(name) == keyword) {
                return detail::to_view(value);
            }
        }
        return std::nullopt;
    }

    /** Adds a named symbol to the message's score (before MAIL: to every message of the
     *  session). @return false for a malformed name or a score that is not finite. */
    bool add_symbol(std::string_view name, double score, std::string_view description) const {
        return MG_HOST_HAS(host_, add_symbol) &&
               host_->add_symbol(session_, detail::to_mg(name), score,
                                 detail::to_mg(description)) == 0;
    }
    /** The total of every symbol so far. */
    double score() const { return MG_HOST_HAS(host_, score) ? host_->score(session_) : 0.0; }

    /** Private data of this plugin for the session or the transaction, owned by the host from
     *  now on (deleted when the session or the transaction ends). Replaces earlier data. */
    template <typename T>
    void set_session_data(std::unique_ptr<T> data) const {
        if (MG_HOST_HAS(host_, set_session_data)) {
            host_->set_session_data(session_, data.release(), &deleteAs<T>);
        }
    }
    template <typename T>
    T* session_data() const {
        return MG_HOST_HAS(host_, session_data) ? static_cast<T*>(host_->session_data(session_))
                                                : nullptr;
    }
    template <typename T>
    void set_transaction_data(std::unique_ptr<T> data) const {
        if (MG_HOST_HAS(host_, set_transaction_data)) {
            host_->set_transaction_data(session_, data.release(), &deleteAs<T>);
        }
    }
    template <typename T>
    T* transaction_data() const {
        return MG_HOST_HAS(host_, transaction_data)
                   ? static_cast<T*>(host_->transaction_data(session_))
                   : nullptr;
    }

    // ---- ABI 1.2 (on an older host these return empty values / false) ----

    /** True when the client connection is encrypted. */
    bool tls() const { return MG_HOST_HAS(host_, tls) && host_->tls(session_) == 1; }
    /** The identity the client authenticated as; empty when it did not. */
    std::string_view auth_identity() const {
        return MG_HOST_HAS(host_, auth_identity) ? detail::to_view(host_->auth_identity(session_))
                                                 : std::string_view{};
    }
    /** In on_body_chunk: the current piece of the body. */
    std::string_view body_chunk() const {
        return MG_HOST_HAS(host_, body_chunk) ? detail::to_view(host_->body_chunk(session_))
                                              : std::string_view{};
    }
    /** From on_headers on: octets of the message as received. */
    std::uint64_t message_size() const {
        return MG_HOST_HAS(host_, message_size) ? host_->message_size(session_) : 0;
    }

    /** Edits (from on_headers to on_end_of_message; each must be declared in `edits`).
     *  Header indexes count from 0 over the current header section; `nth` counts fields of
     *  that name from 1. @return false when the host refused the edit (see the log). */
    bool insert_header(std::size_t index, std::string_view name, std::string_view value) const {
        return MG_HOST_HAS(host_, insert_header) &&
               host_->insert_header(session_, index, detail::to_mg(name), detail::to_mg(value)) ==
                   0;
    }
    bool change_header(std::string_view name, std::size_t nth, std::string_view value) const {
        return MG_HOST_HAS(host_, change_header) &&
               host_->change_header(session_, detail::to_mg(name), nth, detail::to_mg(value)) == 0;
    }
    bool delete_header(std::string_view name, std::size_t nth) const {
        return MG_HOST_HAS(host_, delete_header) &&
               host_->delete_header(session_, detail::to_mg(name), nth) == 0;
    }
    bool replace_body(std::string_view body) const {
        return MG_HOST_HAS(host_, replace_body) &&
               host_->replace_body(session_, detail::to_mg(body)) == 0;
    }
    bool change_sender(std::string_view address) const {
        return MG_HOST_HAS(host_, change_sender) &&
               host_->change_sender(session_, detail::to_mg(address)) == 0;
    }
    bool add_recipient(std::string_view address) const {
        return MG_HOST_HAS(host_, add_rcpt) &&
               host_->add_rcpt(session_, detail::to_mg(address)) == 0;
    }
    bool delete_recipient(std::string_view address) const {
        return MG_HOST_HAS(host_, delete_rcpt) &&
               host_->delete_rcpt(session_, detail::to_mg(address)) == 0;
    }
    /** At end of message: refuse the message for one recipient (4xx or 5xx). */
    bool reject_recipient(std::string_view address, std::uint16_t code, std::string_view enhanced,
                          std::string_view text) const {
        return MG_HOST_HAS(host_, reject_rcpt) &&
               host_->reject_rcpt(session_, detail::to_mg(address), code, detail::to_mg(enhanced),
                                  detail::to_mg(text)) == 0;
    }

    /** Logs a line tagged with the plugin name and this session's id. */
    void log(LogLevel level, std::string_view text) const {
        host_->log(session_, static_cast<mg_log_level>(level), detail::to_mg(text));
    }
    /** Whether a line at `level` would be written: check it before building a costly line.
     *  True on a host older than ABI 1.3, which cannot tell. */
    bool log_enabled(LogLevel level) const {
        return !MG_HOST_HAS(host_, log_enabled) ||
               host_->log_enabled(session_, static_cast<mg_log_level>(level)) != 0;
    }

    /** The host table, for functions this wrapper does not cover. */
    const mg_host* host() const noexcept { return host_; }
    /** The opaque session, for functions this wrapper does not cover. */
    mg_session* raw() const noexcept { return session_; }

  private:
    template <typename T>
    static void deleteAs(void* data) {
        delete static_cast<T*>(data);
    }

    const mg_host* host_;
    mg_session* session_;
};

/**
 * Finishes a hook that returned Verdict::Pending, from any thread. Get one with
 * `Completion(session)` before returning Pending; it stays usable (and so does its session())
 * until complete() is called, which must happen exactly once.
 */
class Completion {
  public:
    explicit Completion(const Session& session) noexcept
        : host_(session.host()), session_(session.raw()) {}

    /** The session, for replies, symbols and edits before completing. */
    Session session() const noexcept { return Session(host_, session_); }

    /** @return true when the host took the verdict; false when it had given up waiting
     *  (timeout, client gone) or the call was already completed. */
    bool complete(Verdict verdict) const noexcept {
        return MG_HOST_HAS(host_, complete) &&
               host_->complete(session_, static_cast<mg_verdict>(verdict)) == 0;
    }

  private:
    const mg_host* host_;
    mg_session* session_;
};

/**
 * Thrown from a plugin's constructor (or `create`) to refuse its configuration. The host shows
 * `message` as a config error at `path` inside the plugin's `config:` subtree, with file, line
 * and column. Paths use dots for keys and brackets for indexes: "domains[2]", "limits.max";
 * "" means the subtree itself.
 */
class ConfigError : public std::runtime_error {
  public:
    ConfigError(std::string path, const std::string& message)
        : std::runtime_error(message), path_(std::move(path)) {}
    /** Where in the plugin's config subtree the mistake is. */
    const std::string& path() const noexcept { return path_; }

  private:
    std::string path_;
};

/**
 * Collects configuration errors while a plugin is created; each is passed to
 * host->config_error at once. Handed to a constructor `T(std::string_view, ConfigErrors&)` or a
 * `static std::unique_ptr<T> create(std::string_view, ConfigErrors&)`: report every mistake
 * you find, not just the first. If any error was reported, the object is discarded and the
 * plugin is not loaded.
 */
class ConfigErrors {
  public:
    /** Reports to the host; only valid while the plugin's create function runs. */
    ConfigErrors(const mg_host* host, mg_load_context* load) noexcept : host_(host), load_(load) {}
    ConfigErrors(const ConfigErrors&) = delete;
    ConfigErrors& operator=(const ConfigErrors&) = delete;

    /** Reports `message` at `path` in the plugin's config subtree ("" for the subtree). */
    void add(std::string_view path, std::string_view message) {
        ++count_;
        const std::string terminated(path);  // the ABI wants a NUL-terminated path
        host_->config_error(load_, terminated.c_str(), detail::to_mg(message));
    }
    /** How many errors were reported. */
    std::size_t count() const noexcept { return count_; }
    /** Whether no error was reported. */
    bool empty() const noexcept { return count_ == 0; }
    /** Logs a line (a warning about the config, say). ABI 1.0 cannot tell the host which
     *  plugin logs without a session: name your plugin in the text. */
    void log(LogLevel level, std::string_view text) const {
        host_->log(nullptr, static_cast<mg_log_level>(level), detail::to_mg(text));
    }
    /** The host table. */
    const mg_host* host() const noexcept { return host_; }

  private:
    const mg_host* host_;
    mg_load_context* load_;
    std::size_t count_ = 0;
};

namespace detail {
// The host of the plugin being created, for Plugin's constructor. Not thread_local: a plugin
// library is unloaded with dlclose, and a TLS block of an unloaded library is left dangling in
// each thread (LeakSanitizer, for one, crashes walking it). Creates are serialized instead.
inline std::mutex creating_mutex;
inline const mg_host* creating_host = nullptr;
}  // namespace detail

/**
 * Base class of a C++ plugin. Override the hooks you need; a hook you do not override is not
 * registered with the host at all. Hooks run concurrently with the same hook for other sessions:
 * on the host's worker pool, or on its I/O threads when the class declares
 * `static constexpr bool nonblocking = true` (then they must never block).
 *
 * The derived class is created by one of, in this order of preference:
 *  - `static std::unique_ptr<T> create(std::string_view yaml_config, ConfigErrors& errors)`
 *    (return nullptr or report errors to refuse the config);
 *  - a constructor `T(std::string_view yaml_config, ConfigErrors& errors)`;
 *  - a constructor `T(std::string_view yaml_config)`;
 *  - a default constructor (the config is then ignored).
 * `yaml_config` is the plugin's `config:` subtree as YAML text (empty when there is none); it is
 * valid only during construction. Any of them may throw ConfigError (located) or any other
 * exception (reported at the subtree).
 */
class Plugin {
  public:
    virtual ~Plugin() = default;
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;

    /** After the client connected, before the greeting. */
    virtual Verdict on_connect(Session& /*session*/) const { return Verdict::Continue; }
    /** After each HELO or EHLO; Session::helo() is the new name. */
    virtual Verdict on_helo(Session& /*session*/) const { return Verdict::Continue; }
    /** After MAIL FROM, before it is passed to the backend; Session::mail_from() is set. */
    virtual Verdict on_mail_from(Session& /*session*/) const { return Verdict::Continue; }
    /** For each RCPT TO; Session::current_recipient() is the recipient. Unless a plugin
     *  accepts it, the recipient is refused (550 5.7.1 relay denied). */
    virtual Verdict on_rcpt_to(Session& /*session*/) const { return Verdict::Continue; }
    /** After the end of DATA, before the message goes to the backend; headers and body are
     *  readable and Session::add_header() edits the message. */
    virtual Verdict on_end_of_message(Session& /*session*/) const { return Verdict::Continue; }
    /** DATA, before the client sends the message. */
    virtual Verdict on_data(Session& /*session*/) const { return Verdict::Continue; }
    /** The header section has arrived (headers() and edits work from here on). */
    virtual Verdict on_headers(Session& /*session*/) const { return Verdict::Continue; }
    /** Each piece of the body in order (Session::body_chunk()). */
    virtual Verdict on_body_chunk(Session& /*session*/) const { return Verdict::Continue; }
    /** The transaction ended (delivered, refused, RSET, client gone). */
    virtual void on_reset(Session& /*session*/) const {}
    /** When the session ends, however it ends (also after a refused connection). */
    virtual void on_close(Session& /*session*/) const {}

    /** Logs a line not tied to a session (ABI 1.0 cannot tell the host which plugin logs
     *  without a session: name your plugin in the text). A no-op without a host. */
    void log(LogLevel level, std::string_view text) const {
        if (host_ != nullptr) {
            host_->log(nullptr, static_cast<mg_log_level>(level), detail::to_mg(text));
        }
    }
    /** The host table this plugin was created with (nullptr outside the host, e.g. in tests). */
    const mg_host* host() const noexcept { return host_; }

  protected:
    /** Picks up the host table when created through MAILGATE_PLUGIN. */
    Plugin() noexcept : host_(detail::creating_host) {}
    /** For unit tests that drive the class with a fake host table. */
    explicit Plugin(const mg_host* host) noexcept : host_(host) {}

  private:
    const mg_host* host_;
};

namespace detail {

// A hook is registered only when the class overrides it: &T::on_x names Plugin's own function
// (and has Plugin's member pointer type) exactly when T inherits it. Anything else (an override,
// an overload set) registers the hook, which is always safe.
template <class T>
concept inherits_on_connect =
    std::is_same_v<decltype(&T::on_connect), decltype(&Plugin::on_connect)>;
template <class T>
concept inherits_on_helo = std::is_same_v<decltype(&T::on_helo), decltype(&Plugin::on_helo)>;
template <class T>
concept inherits_on_mail_from =
    std::is_same_v<decltype(&T::on_mail_from), decltype(&Plugin::on_mail_from)>;
template <class T>
concept inherits_on_rcpt_to =
    std::is_same_v<decltype(&T::on_rcpt_to), decltype(&Plugin::on_rcpt_to)>;
template <class T>
concept inherits_on_end_of_message =
    std::is_same_v<decltype(&T::on_end_of_message), decltype(&Plugin::on_end_of_message)>;
template <class T>
concept inherits_on_close = std::is_same_v<decltype(&T::on_close), decltype(&Plugin::on_close)>;
template <class T>
concept inherits_on_data = std::is_same_v<decltype(&T::on_data), decltype(&Plugin::on_data)>;
template <class T>
concept inherits_on_headers =
    std::is_same_v<decltype(&T::on_headers), decltype(&Plugin::on_headers)>;
template <class T>
concept inherits_on_body_chunk =
    std::is_same_v<decltype(&T::on_body_chunk), decltype(&Plugin::on_body_chunk)>;
template <class T>
concept inherits_on_reset = std::is_same_v<decltype(&T::on_reset), decltype(&Plugin::on_reset)>;

template <class T>
constexpr std::uint32_t declared_edits() noexcept {
    if constexpr (requires { T::edits; }) {
        return static_cast<std::uint32_t>(T::edits);
    } else {
        return MG_EDIT_ADD_HEADER;
    }
}
template <class T>
constexpr std::uint32_t declared_flags() noexcept {
    if constexpr (requires { T::nonblocking; }) {
        return T::nonblocking ? static_cast<std::uint32_t>(MG_PLUGIN_NONBLOCKING) : 0u;
    } else {
        return 0;
    }
}

template <class T>
concept has_static_create = requires(std::string_view yaml, ConfigErrors& errors) {
    { T::create(yaml, errors) } -> std::convertible_to<std::unique_ptr<T>>;
};

// Logs what escaped a hook; must not throw itself (the message is built in a fixed buffer).
inline void log_escaped(const mg_host* host, mg_session* session, const char* hook,
                        const char* what) noexcept {
    char line[512];
    std::size_t used = 0;
    const auto append = [&](const char* text) {
        for (; text != nullptr && *text != '\0' && used + 1 < sizeof line; ++text) {
            line[used++] = *text;
        }
    };
    append(hook);
    append(" threw: ");
    append(what);
    host->log(session, MG_LOG_ERROR, mg_str{line, used});
}

template <class Call>
mg_verdict guarded(const Plugin& plugin, mg_session* session, const char* hook,
                   Call&& call) noexcept {
    try {
        return static_cast<mg_verdict>(call());
    } catch (const std::exception& error) {
        log_escaped(plugin.host(), session, hook, error.what());
    } catch (...) {
        log_escaped(plugin.host(), session, hook, "an exception not derived from std::exception");
    }
    return MG_ERROR;  // the host applies the plugin's on_error policy
}

// One trampoline per hook: C signature, no exception escapes.
#define MAILGATE_SDK_DETAIL_TRAMPOLINE(hook)                                            \
    inline mg_verdict hook##_trampoline(void* instance, mg_session* session) noexcept { \
        const Plugin& plugin = *static_cast<const Plugin*>(instance);                   \
        return guarded(plugin, session, #hook, [&] {                                    \
            Session view(plugin.host(), session);                                       \
            return plugin.hook(view);                                                   \
        });                                                                             \
    }
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_connect)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_helo)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_mail_from)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_rcpt_to)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_end_of_message)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_data)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_headers)
MAILGATE_SDK_DETAIL_TRAMPOLINE(on_body_chunk)
#undef MAILGATE_SDK_DETAIL_TRAMPOLINE

// Hooks whose verdict the host ignores.
#define MAILGATE_SDK_DETAIL_NOTIFY_TRAMPOLINE(hook)                                     \
    inline mg_verdict hook##_trampoline(void* instance, mg_session* session) noexcept { \
        const Plugin& plugin = *static_cast<const Plugin*>(instance);                   \
        return guarded(plugin, session, #hook, [&] {                                    \
            Session view(plugin.host(), session);                                       \
            plugin.hook(view);                                                          \
            return Verdict::Continue;                                                   \
        });                                                                             \
    }
MAILGATE_SDK_DETAIL_NOTIFY_TRAMPOLINE(on_close)
MAILGATE_SDK_DETAIL_NOTIFY_TRAMPOLINE(on_reset)
#undef MAILGATE_SDK_DETAIL_NOTIFY_TRAMPOLINE

template <class T>
std::unique_ptr<T> construct(std::string_view yaml, ConfigErrors& errors) {
    if constexpr (has_static_create<T>) {
        return T::create(yaml, errors);
    } else if constexpr (std::is_constructible_v<T, std::string_view, ConfigErrors&>) {
        return std::make_unique<T>(yaml, errors);
    } else if constexpr (std::is_constructible_v<T, std::string_view>) {
        return std::make_unique<T>(yaml);
    } else {
        static_assert(std::is_default_constructible_v<T>,
                      "a plugin class needs create(std::string_view, ConfigErrors&), "
                      "T(std::string_view, ConfigErrors&), T(std::string_view) or T()");
        return std::make_unique<T>();
    }
}

// Resets the creating host however construction ends.
struct CreatingHostScope {
    explicit CreatingHostScope(const mg_host* host) noexcept : lock(creating_mutex) {
        creating_host = host;
    }
    ~CreatingHostScope() { creating_host = nullptr; }
    CreatingHostScope(const CreatingHostScope&) = delete;
    CreatingHostScope& operator=(const CreatingHostScope&) = delete;
    std::lock_guard<std::mutex> lock;
};

inline void report_noexcept(ConfigErrors& errors, std::string_view path,
                            const char* message) noexcept {
    try {
        errors.add(path, message);
    } catch (...) {
        // Out of memory for the path copy: the host still refuses an instance-less create.
    }
}

template <class T>
void* create_trampoline(const mg_host* host, mg_load_context* load, mg_str yaml) noexcept {
    if (host == nullptr || host->config_error == nullptr) {
        return nullptr;
    }
    ConfigErrors errors(host, load);
    if (host->struct_size < sizeof(mg_host)) {
        report_noexcept(errors, "", "the host's table is older than the plugin's SDK");
        return nullptr;
    }
    try {
        const CreatingHostScope scope(host);
        std::unique_ptr<T> instance = construct<T>(to_view(yaml), errors);
        if (instance == nullptr || !errors.empty()) {
            if (errors.empty()) {
                errors.add("", "the plugin refused its configuration");
            }
            return nullptr;
        }
        return static_cast<Plugin*>(instance.release());
    } catch (const ConfigError& error) {
        report_noexcept(errors, error.path(), error.what());
    } catch (const std::exception& error) {
        report_noexcept(errors, "", error.what());
    } catch (...) {
        report_noexcept(errors, "", "an exception not derived from std::exception");
    }
    return nullptr;
}

inline void destroy_trampoline(void* instance) noexcept {
    // A destructor that throws would terminate here, as anywhere else in C++.
    delete static_cast<Plugin*>(instance);
}

/** The descriptor MAILGATE_PLUGIN exports for class T. */
template <class T>
constexpr mg_plugin_descriptor make_descriptor(const char* name, const char* version) noexcept {
    static_assert(std::is_base_of_v<Plugin, T>,
                  "a plugin class derives from mailgate::sdk::Plugin");
    static_assert(!std::is_abstract_v<T>, "a plugin class must not be abstract");
    mg_plugin_descriptor descriptor{};
    descriptor.struct_size = sizeof(mg_plugin_descriptor);
    descriptor.abi_version = MAILGATE_ABI_VERSION;
    descriptor.name = name;
    descriptor.version = version;
    descriptor.create = &create_trampoline<T>;
    descriptor.destroy = &destroy_trampoline;
    descriptor.on_connect = inherits_on_connect<T> ? nullptr : &on_connect_trampoline;
    descriptor.on_helo = inherits_on_helo<T> ? nullptr : &on_helo_trampoline;
    descriptor.on_mail_from = inherits_on_mail_from<T> ? nullptr : &on_mail_from_trampoline;
    descriptor.on_rcpt_to = inherits_on_rcpt_to<T> ? nullptr : &on_rcpt_to_trampoline;
    descriptor.on_end_of_message =
        inherits_on_end_of_message<T> ? nullptr : &on_end_of_message_trampoline;
    descriptor.on_close = inherits_on_close<T> ? nullptr : &on_close_trampoline;
    descriptor.on_data = inherits_on_data<T> ? nullptr : &on_data_trampoline;
    descriptor.on_headers = inherits_on_headers<T> ? nullptr : &on_headers_trampoline;
    descriptor.on_body_chunk = inherits_on_body_chunk<T> ? nullptr : &on_body_chunk_trampoline;
    descriptor.on_reset = inherits_on_reset<T> ? nullptr : &on_reset_trampoline;
    descriptor.edits = declared_edits<T>();
    descriptor.flags = declared_flags<T>();
    return descriptor;
}

}  // namespace detail
}  // namespace mailgate::sdk

/**
 * Exports `ClassName` as a mailgate plugin: emits the C entry symbol `mailgate_plugin_entry`
 * returning a static descriptor (struct size, ABI version, name, version, create/destroy and the
 * hooks the class overrides). Use it once per plugin library, at namespace scope in one .cpp.
 * @param ClassName a class derived from mailgate::sdk::Plugin
 * @param PluginName a string literal, the name shown in logs ("sender_block")
 * @param PluginVersion a string literal, the plugin's own version ("1.0.0")
 */
#define MAILGATE_PLUGIN(ClassName, PluginName, PluginVersion)                                   \
    extern "C" MAILGATE_PLUGIN_EXPORT const mg_plugin_descriptor* mailgate_plugin_entry(void) { \
        static constexpr mg_plugin_descriptor descriptor =                                      \
            ::mailgate::sdk::detail::make_descriptor<ClassName>(PluginName, PluginVersion);     \
        return &descriptor;                                                                     \
    }
