#pragma once

// The SASL pieces AUTH PLAIN and LOGIN need (RFC 4954, RFC 4616): base64 and the PLAIN message.

#include <optional>
#include <string>
#include <string_view>

namespace mailgate::auth {

// Strict base64 (RFC 4648, with padding, no blanks); nullopt when malformed.
std::optional<std::string> decodeBase64(std::string_view text);
std::string encodeBase64(std::string_view bytes);

struct PlainCredentials {
    std::string authzid;  // usually empty
    std::string authcid;
    std::string password;
};

// "authzid NUL authcid NUL password"; nullopt when malformed (no two NULs, empty name).
std::optional<PlainCredentials> parsePlain(std::string_view message);

}  // namespace mailgate::auth
