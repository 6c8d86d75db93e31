#pragma once

// The users AUTH checks passwords against: a file of "name:hash" lines with crypt(3) hashes
// (SHA-512 "$6$", or another method libxcrypt considers strong, such as yescrypt "$y$").

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config/config.hpp"

namespace mailgate::auth {

class Users {
  public:
    explicit Users(std::unordered_map<std::string, std::string> hashes);

    // True when `name` exists and `password` matches its hash. Takes about as long for an
    // unknown name as for a wrong password, so names cannot be probed by timing.
    bool verify(std::string_view name, std::string_view password) const;
    size_t size() const { return hashes_.size(); }

  private:
    std::unordered_map<std::string, std::string> hashes_;
    std::string dummy_hash_;  // checked for unknown names
};

// Reads auth.users_file. Problems are located at their line of that file
// ("users:3:1: ...") or, for an unreadable file, at auth.users_file in the config.
std::shared_ptr<const Users> loadUsers(const config::Config& config,
                                       std::vector<config::ConfigError>& errors);

// Parses the users file text; exposed for the unit tests.
std::shared_ptr<const Users> parseUsers(std::string_view text, const std::string& file,
                                        std::vector<config::ConfigError>& errors);

}  // namespace mailgate::auth
