#include "rspamd_protocol.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace mailgate::spam_score {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

bool safeHeaderValue(std::string_view value) {
    return std::none_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
}

void addHeader(std::string& head, std::string_view name, std::string_view value) {
    if (!value.empty() && safeHeaderValue(value)) {
        head.append(name).append(": ").append(value).append("\r\n");
    }
}

std::optional<double> numberOf(const json::value* value) {
    if (value == nullptr || !value->is_number()) {
        return std::nullopt;
    }
    const double number = value->to_number<double>();
    return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
}

ScanResult missing(std::string_view field) {
    return ScanResult::failure("Rspamd reply has no valid \"" + std::string(field) + "\"");
}

// Each symbol: {"name": ..., "score": 2.5, "description": ...}; name from the key.
std::optional<std::string> readSymbols(const json::object& symbols, ScanResult& result) {
    for (const auto& [key, entry] : symbols) {
        if (!entry.is_object()) {
            return "Rspamd symbol " + std::string(key.substr(0, 64)) + " is not an object";
        }
        const json::object& symbol = entry.get_object();
        ScannerSymbol parsed{std::string(key), 0, {}};
        if (const json::value* score = symbol.if_contains("score")) {
            const auto number = numberOf(score);
            if (!number) {
                return "Rspamd symbol " + parsed.name.substr(0, 64) + " has a malformed score";
            }
            parsed.score = *number;
        }
        if (const json::value* description = symbol.if_contains("description");
            description != nullptr && description->is_string()) {
            parsed.description = std::string(description->get_string().subview().substr(0, 200));
        }
        result.symbols.push_back(std::move(parsed));
    }
    std::sort(result.symbols.begin(), result.symbols.end(),
              [](const ScannerSymbol& a, const ScannerSymbol& b) {
                  if (std::fabs(a.score) != std::fabs(b.score)) {
                      return std::fabs(a.score) > std::fabs(b.score);
                  }
                  return a.name < b.name;
              });
    if (result.symbols.size() > kMaxScannerSymbols) {
        result.symbols.resize(kMaxScannerSymbols);
    }
    return std::nullopt;
}

std::string errorText(const std::string& body) {
    json::error_code ec;
    const json::value parsed = json::parse(body, ec);
    if (!ec && parsed.is_object()) {
        if (const json::value* error = parsed.get_object().if_contains("error");
            error != nullptr && error->is_string()) {
            return std::string(error->get_string().subview().substr(0, 200));
        }
    }
    return std::string();
}

}  // namespace

std::string rspamdRequestHead(std::string_view host, std::uint64_t message_length,
                              const RspamdEnvelope* envelope) {
    std::string head = "POST /checkv2 HTTP/1.1\r\n";
    addHeader(head, "Host", host);
    head += "Content-Length: " + std::to_string(message_length) + "\r\n";
    head += "Connection: close\r\n";
    if (envelope != nullptr) {
        addHeader(head, "IP", envelope->ip);
        addHeader(head, "Helo", envelope->helo);
        addHeader(head, "From", envelope->from);
        for (const std::string& rcpt : envelope->rcpts) {
            addHeader(head, "Rcpt", rcpt);
        }
        addHeader(head, "Queue-Id", envelope->queue_id);
        addHeader(head, "User", envelope->user);
    }
    head += "\r\n";
    return head;
}

ScanResult parseRspamdJson(std::string_view text) {
    json::error_code ec;
    const json::value parsed = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec) {
        return ScanResult::failure("Rspamd reply is not JSON: " + ec.message());
    }
    if (!parsed.is_object()) {
        return ScanResult::failure("Rspamd reply is not a JSON object");
    }
    const json::object& root = parsed.get_object();
    ScanResult result;
    const auto score = numberOf(root.if_contains("score"));
    if (!score) {
        return missing("score");
    }
    const auto required = numberOf(root.if_contains("required_score"));
    if (!required) {
        return missing("required_score");
    }
    const json::value* action = root.if_contains("action");
    if (action == nullptr || !action->is_string() || action->get_string().empty()) {
        return missing("action");
    }
    result.score = *score;
    result.required = *required;
    result.action = std::string(action->get_string().subview().substr(0, 64));
    result.spam = result.action != "no action";
    if (const json::value* symbols = root.if_contains("symbols")) {
        if (!symbols->is_object()) {
            return missing("symbols");
        }
        if (auto problem = readSymbols(symbols->get_object(), result)) {
            return ScanResult::failure(std::move(*problem));
        }
    }
    result.ok = true;
    return result;
}

struct RspamdReplyReader::State {
    http::response_parser<http::string_body> parser;
    std::string buffer;  // octets not yet taken by the parser
    bool finished = false;
    std::string error;
};

RspamdReplyReader::RspamdReplyReader() : state_(std::make_unique<State>()) {
    state_->parser.body_limit(kMaxScannerReply);
    state_->parser.header_limit(64 * 1024);
    state_->parser.eager(true);
}

RspamdReplyReader::~RspamdReplyReader() = default;

bool RspamdReplyReader::feed(std::string_view data) {
    State& s = *state_;
    if (s.finished) {
        return true;
    }
    s.buffer.append(data);
    while (!s.buffer.empty() && !s.parser.is_done()) {
        boost::beast::error_code ec;
        const std::size_t used = s.parser.put(boost::asio::buffer(s.buffer), ec);
        s.buffer.erase(0, used);
        if (ec == http::error::need_more) {
            break;
        }
        if (ec) {
            s.error = "malformed HTTP reply from Rspamd: " + ec.message();
            s.finished = true;
            return true;
        }
        if (used == 0) {
            break;
        }
    }
    s.finished = s.parser.is_done();
    return s.finished;
}

void RspamdReplyReader::eof() {
    State& s = *state_;
    if (s.finished) {
        return;
    }
    s.finished = true;
    if (!s.parser.is_header_done()) {
        s.error = s.parser.got_some() || !s.buffer.empty()
                      ? "Rspamd reply ends inside its header"
                      : "Rspamd closed the connection without a reply";
        return;
    }
    boost::beast::error_code ec;
    s.parser.put_eof(ec);
    if (ec) {
        s.error = "Rspamd reply cut short: " + ec.message();
    }
}

bool RspamdReplyReader::done() const {
    return state_->finished;
}

ScanResult RspamdReplyReader::result() const {
    const State& s = *state_;
    if (!s.error.empty()) {
        return ScanResult::failure(s.error);
    }
    if (!s.parser.is_done()) {
        return ScanResult::failure("Rspamd reply is incomplete");
    }
    const auto& reply = s.parser.get();
    if (reply.result_int() != 200) {
        const std::string detail = errorText(reply.body());
        return ScanResult::failure("Rspamd answered HTTP " + std::to_string(reply.result_int()) +
                                   (detail.empty() ? "" : ": " + detail));
    }
    return parseRspamdJson(reply.body());
}

}  // namespace mailgate::spam_score
