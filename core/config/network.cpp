// IP networks in CIDR notation, for server.proxy_protocol.trusted_networks.
#include <arpa/inet.h>

#include <charconv>

#include "core/config/config.hpp"

namespace mailgate::config {
namespace {

// True when the bits of `bytes` after the first `prefix` are all zero.
bool hostBitsClear(const std::array<uint8_t, 16>& bytes, unsigned prefix, size_t length) {
    for (size_t i = 0; i < length; ++i) {
        const unsigned first_bit = static_cast<unsigned>(i) * 8;
        const uint8_t keep =
            prefix >= first_bit + 8
                ? 0xff
                : (prefix <= first_bit ? 0
                                       : static_cast<uint8_t>(0xff << (8 - (prefix - first_bit))));
        if ((bytes[i] & static_cast<uint8_t>(~keep)) != 0) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool Network::contains(const uint8_t* address, bool address_v6) const {
    if (address_v6 != v6) {
        return false;
    }
    const unsigned whole = prefix / 8;
    for (unsigned i = 0; i < whole; ++i) {
        if (address[i] != bytes[i]) {
            return false;
        }
    }
    const unsigned rest = prefix % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (address[whole] & mask) == (bytes[whole] & mask);
}

std::string parseNetwork(const std::string& text, Network& network) {
    const size_t slash = text.find('/');
    const std::string host = text.substr(0, slash);
    Network parsed;
    parsed.text = text;
    parsed.v6 = host.find(':') != std::string::npos;
    if (::inet_pton(parsed.v6 ? AF_INET6 : AF_INET, host.c_str(), parsed.bytes.data()) != 1) {
        return parsed.v6 ? "not an IPv6 address" : "not an IPv4 address";
    }
    const unsigned max_prefix = parsed.v6 ? 128 : 32;
    parsed.prefix = max_prefix;
    if (slash != std::string::npos) {
        const std::string_view digits = std::string_view(text).substr(slash + 1);
        unsigned prefix = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
            prefix > max_prefix || (digits.size() > 1 && digits[0] == '0')) {
            return "bad prefix length: must be 0 to " + std::to_string(max_prefix);
        }
        parsed.prefix = prefix;
    }
    if (!hostBitsClear(parsed.bytes, parsed.prefix, parsed.v6 ? 16 : 4)) {
        return "host bits set after the /" + std::to_string(parsed.prefix) + " prefix";
    }
    network = std::move(parsed);
    return "";
}

}  // namespace mailgate::config
