#include "core/auth/dovecot_protocol.hpp"

#include <openssl/crypto.h>

#include <charconv>
#include <vector>

#include "core/auth/sasl.hpp"

namespace mailgate::auth {
namespace {

constexpr size_t kMaxIdentity = 255;  // a longer canonical name is not one we pass on

std::vector<std::string_view> splitTabs(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    while (true) {
        const size_t tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos) {
            return fields;
        }
        start = tab + 1;
    }
}

bool isNumber(std::string_view text, unsigned& value) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return !text.empty() && ec == std::errc() && ptr == end;
}

// The value of "name=value" among the optional fields, or nullopt.
std::optional<std::string_view> option(const std::vector<std::string_view>& fields, size_t from,
                                       std::string_view name) {
    for (size_t i = from; i < fields.size(); ++i) {
        const std::string_view field = fields[i];
        if (field.size() > name.size() && field.starts_with(name) && field[name.size()] == '=') {
            return field.substr(name.size() + 1);
        }
    }
    return std::nullopt;
}

bool hasFlag(const std::vector<std::string_view>& fields, size_t from, std::string_view name) {
    for (size_t i = from; i < fields.size(); ++i) {
        if (fields[i] == name) {
            return true;
        }
    }
    return false;
}

// An identity we can log, put in Received: and XCLIENT: no control characters.
bool usableIdentity(std::string_view user) {
    if (user.empty() || user.size() > kMaxIdentity) {
        return false;
    }
    for (const char c : user) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return false;
        }
    }
    return true;
}

// Text from Dovecot for our log line: unescaped, control characters shown as '?', bounded.
std::string loggable(std::string_view text) {
    std::string out = dovecotUnescape(text.substr(0, 200));
    for (char& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            c = '?';
        }
    }
    return out;
}

DovecotVerdict unavailable(std::string why) {
    return {DovecotVerdict::Kind::Unavailable, "", std::move(why)};
}

}  // namespace

std::string dovecotEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '\0':
                out +=
                    "\001"
                    "0";
                break;
            case '\001':
                out +=
                    "\001"
                    "1";
                break;
            case '\t':
                out +=
                    "\001"
                    "t";
                break;
            case '\r':
                out +=
                    "\001"
                    "r";
                break;
            case '\n':
                out +=
                    "\001"
                    "n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string dovecotUnescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\001') {
            out += text[i];
            continue;
        }
        if (++i == text.size()) {
            break;  // a trailing escape character stands for nothing
        }
        switch (text[i]) {
            case '0':
                out += '\0';
                break;
            case '1':
                out += '\001';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'n':
                out += '\n';
                break;
            default:
                out += text[i];
        }
    }
    return out;
}

bool dovecotRefusesName(std::string_view name) {
    return name.find_first_of(std::string_view("\t\n\0", 3)) != std::string_view::npos;
}

std::string dovecotHello(uint64_t pid) {
    return "VERSION\t1\t2\nCPID\t" + std::to_string(pid) + "\n";
}

std::string dovecotAuthLine(const DovecotAuthRequest& request) {
    std::string message;
    message.reserve(request.name.size() + request.password.size() + 2);
    message += '\0';
    message += request.name;
    message += '\0';
    message += request.password;
    std::string encoded = encodeBase64(message);
    OPENSSL_cleanse(message.data(), message.size());
    std::string line;
    // Room for everything up front: no reallocation leaves a copy of the secret behind.
    line.reserve(128 +
                 2 * (request.session.size() + request.local_ip.size() + request.remote_ip.size()) +
                 encoded.size());
    line += "AUTH\t" + std::to_string(request.id) + "\tPLAIN\tservice=smtp\tnologin\tno-penalty";
    if (request.secured) {
        line += "\tsecured";
    }
    if (!request.session.empty()) {
        line += "\tsession=" + dovecotEscape(request.session);
    }
    if (!request.local_ip.empty()) {
        line += "\tlip=" + dovecotEscape(request.local_ip);
    }
    if (!request.remote_ip.empty()) {
        line += "\trip=" + dovecotEscape(request.remote_ip);
    }
    line += "\tresp=";
    line += encoded;
    line += '\n';
    OPENSSL_cleanse(encoded.data(), encoded.size());
    return line;
}

DovecotHandshake::Status DovecotHandshake::fail(std::string why) {
    why_ = std::move(why);
    return Status::Failed;
}

DovecotHandshake::Status DovecotHandshake::feed(std::string_view line) {
    const std::vector<std::string_view> fields = splitTabs(line);
    const std::string_view command = fields[0];
    if (!version_seen_) {
        unsigned major = 0;
        if (command != "VERSION" || fields.size() < 3 || !isNumber(fields[1], major)) {
            return fail("expected VERSION, got '" + loggable(line.substr(0, 40)) + "'");
        }
        if (major != 1) {
            return fail("protocol version " + std::to_string(major) + " is not 1");
        }
        version_seen_ = true;
        return Status::More;
    }
    if (command == "MECH" && fields.size() >= 2 && fields[1] == "PLAIN") {
        plain_offered_ = true;
    } else if (command == "DONE") {
        if (!plain_offered_) {
            return fail("PLAIN is not among its mechanisms (auth_mechanisms)");
        }
        return Status::Done;
    } else if (command != "MECH" && command != "SPID" && command != "CUID" && command != "COOKIE") {
        return fail("unexpected handshake line '" + loggable(line.substr(0, 40)) + "'");
    }
    return Status::More;
}

DovecotVerdict parseDovecotReply(std::string_view line, unsigned id) {
    const std::vector<std::string_view> fields = splitTabs(line);
    const std::string_view command = fields[0];
    unsigned reply_id = 0;
    if (fields.size() < 2 || !isNumber(fields[1], reply_id) || reply_id != id ||
        (command != "OK" && command != "FAIL")) {
        return unavailable("unexpected reply '" + loggable(line.substr(0, 40)) + "'");
    }
    if (command == "OK") {
        const auto user = option(fields, 2, "user");
        if (!user) {
            return unavailable("OK without user=");
        }
        std::string name = dovecotUnescape(*user);
        if (!usableIdentity(name)) {
            return unavailable("OK with an unusable user= '" + loggable(*user) + "'");
        }
        return {DovecotVerdict::Kind::Verified, std::move(name), ""};
    }
    std::string reason = loggable(option(fields, 2, "reason").value_or(""));
    if (hasFlag(fields, 2, "temp") || option(fields, 2, "code") == "temp_fail") {
        return unavailable("temporary failure" + (reason.empty() ? "" : ": " + reason));
    }
    return {DovecotVerdict::Kind::Refused, "", std::move(reason)};
}

}  // namespace mailgate::auth
