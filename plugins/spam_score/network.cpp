#include "network.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace mailgate::spam_score {

bool parseAddress(std::string_view text, std::array<std::uint8_t, 16>& out) {
    if (text.size() > 64) {
        return false;
    }
    const std::string terminated(text);
    out = {};
    std::uint8_t v4[4];
    if (inet_pton(AF_INET, terminated.c_str(), v4) == 1) {
        out[10] = 0xff;
        out[11] = 0xff;
        for (int i = 0; i < 4; ++i) {
            out[12 + i] = v4[i];
        }
        return true;
    }
    return inet_pton(AF_INET6, terminated.c_str(), out.data()) == 1;
}

std::optional<Network> Network::parse(std::string_view text, std::string& error) {
    const std::size_t slash = text.find('/');
    const std::string_view address = text.substr(0, slash);
    Network network;
    if (!parseAddress(address, network.bytes)) {
        error = "\"" + std::string(address) + "\" is not an IP address";
        return std::nullopt;
    }
    const bool v4 = address.find(':') == std::string_view::npos;
    const unsigned width = v4 ? 32 : 128;
    unsigned prefix = width;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc() || end != digits.data() + digits.size() || prefix > width) {
            error = "prefix length must be 0 to " + std::to_string(width);
            return std::nullopt;
        }
    }
    network.prefix = v4 ? prefix + 96 : prefix;
    return network;
}

bool Network::contains(std::string_view address) const {
    std::array<std::uint8_t, 16> bytes_of{};
    if (!parseAddress(address, bytes_of)) {
        return false;
    }
    unsigned bits = prefix;
    for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8 : bits;
        const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
        if ((bytes_of[i] & mask) != (bytes[i] & mask)) {
            return false;
        }
        bits -= take;
    }
    return true;
}

}  // namespace mailgate::spam_score
