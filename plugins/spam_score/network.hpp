#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// An IPv4 or IPv6 network ("192.0.2.0/24", "2001:db8::/32", or one address) for envelope rules.
namespace mailgate::spam_score {

struct Network {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 as its IPv4-mapped IPv6 form
    unsigned prefix = 128;

    // Parses CIDR text; nullopt with `error` set on a mistake.
    static std::optional<Network> parse(std::string_view text, std::string& error);
    // `address` is the client's address as the host gives it ("192.0.2.1", "::1").
    bool contains(std::string_view address) const;
};

// Parses an address to the 16-byte form; false when it is not an IP address.
bool parseAddress(std::string_view text, std::array<std::uint8_t, 16>& out);

}  // namespace mailgate::spam_score
