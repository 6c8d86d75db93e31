#include "core/relay/backend.hpp"

#include "core/relay/maildir_backend.hpp"
#include "core/relay/smtp_backend.hpp"

namespace mailgate::relay {

std::unique_ptr<Backend> makeBackend(const config::BackendConfig& config,
                                     const std::string& hostname, asio::any_io_executor executor,
                                     std::shared_ptr<const net::ClientTls> tls) {
    if (config.type == config::BackendType::Maildir) {
        return std::make_unique<MaildirBackend>(config.path, hostname);
    }
    const std::string helo = config.helo_name.empty() ? hostname : config.helo_name;
    return std::make_unique<SmtpBackend>(config, helo, executor, std::move(tls));
}

}  // namespace mailgate::relay
