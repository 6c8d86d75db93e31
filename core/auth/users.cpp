#include "core/auth/users.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mailgate::auth {
namespace {

constexpr size_t kMaxUsersFile = 16 * 1024 * 1024;
constexpr size_t kMaxPassword = 1024;  // longer ones are refused without hashing

// crypt_r's work area is 32 KiB: one per thread, not on the coroutine's stack.
crypt_data& cryptData() {
    thread_local auto data = std::make_unique<crypt_data>();
    return *data;
}

bool matches(std::string_view password, const std::string& hash) {
    std::string phrase(password);
    crypt_data& data = cryptData();
    data.initialized = 0;
    const char* result = crypt_r(phrase.c_str(), hash.c_str(), &data);
    const bool same = result != nullptr && result[0] != '*' && std::strlen(result) == hash.size() &&
                      CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
    OPENSSL_cleanse(data.input, sizeof data.input);
    OPENSSL_cleanse(phrase.data(), phrase.size());
    return same;
}

}  // namespace

Users::Users(std::unordered_map<std::string, std::string> hashes) : hashes_(std::move(hashes)) {
    // A hash of the same kind as the users' own, so that unknown names cost the same.
    const std::string prefix = hashes_.empty() ? "$6$" : hashes_.begin()->second.substr(0, 3);
    const char* setting = crypt_gensalt(prefix.c_str(), 0, nullptr, 0);
    crypt_data& data = cryptData();
    data.initialized = 0;
    const char* hash = setting ? crypt_r("mailgate-no-such-user", setting, &data) : nullptr;
    dummy_hash_ = hash && hash[0] != '*' ? hash : "";
}

bool Users::verify(std::string_view name, std::string_view password) const {
    if (password.size() > kMaxPassword || password.find('\0') != std::string_view::npos) {
        return false;
    }
    const auto user = hashes_.find(std::string(name));
    if (user == hashes_.end()) {
        if (!dummy_hash_.empty()) {
            matches(password, dummy_hash_);
        }
        return false;
    }
    return matches(password, user->second);
}

std::shared_ptr<const Users> parseUsers(std::string_view text, const std::string& file,
                                        std::vector<config::ConfigError>& errors) {
    std::unordered_map<std::string, std::string> hashes;
    const size_t before = errors.size();
    int number = 0;
    while (!text.empty()) {
        ++number;
        const size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        if (line.empty() || line.front() == '#') {
            continue;
        }
        auto fail = [&](const std::string& message) {
            errors.push_back(config::ConfigError{file, number, 1, message});
        };
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            fail("expected name:hash");
            continue;
        }
        const std::string name(line.substr(0, colon));
        const std::string hash(line.substr(colon + 1));
        if (name.find_first_of(" \t") != std::string::npos) {
            fail("the name '" + name + "' has blanks");
            continue;
        }
        if (crypt_checksalt(hash.c_str()) != CRYPT_SALT_OK || !hash.starts_with('$')) {
            fail("the hash of '" + name +
                 "' is not a strong crypt(3) hash (use SHA-512 \"$6$\" or yescrypt \"$y$\", e.g. "
                 "from `openssl passwd -6` or `mkpasswd -m sha-512`)");
            continue;
        }
        if (!hashes.emplace(name, hash).second) {
            fail("the name '" + name + "' appears twice");
        }
    }
    if (errors.size() != before) {
        return nullptr;
    }
    return std::make_shared<const Users>(std::move(hashes));
}

std::shared_ptr<const Users> loadUsers(const config::Config& config,
                                       std::vector<config::ConfigError>& errors) {
    if (!config.auth.enabled || !config.auth.dovecot_socket.empty()) {
        return nullptr;  // no AUTH, or Dovecot checks the passwords
    }
    const auto& path = config.auth.users_file;
    const YAML::Mark& mark = config.auth.users_file_mark;
    auto fail = [&](const std::string& why) {
        errors.push_back(
            config::ConfigError{config.file.string(), mark.is_null() ? 0 : mark.line + 1,
                                mark.is_null() ? 0 : mark.column + 1,
                                "auth.users_file: cannot read '" + path.string() + "': " + why});
        return nullptr;
    };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return fail("it is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return fail(std::strerror(errno));
    }
    if (text.str().size() > kMaxUsersFile) {
        return fail("larger than 16 MiB");
    }
    return parseUsers(text.str(), path.string(), errors);
}

}  // namespace mailgate::auth
