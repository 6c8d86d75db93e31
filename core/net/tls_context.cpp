#include "core/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/smtp/command.hpp"

namespace mailgate::net {
namespace ssl = boost::asio::ssl;

namespace {

// Errors of one load, located at their config keys.
struct Reporter {
    std::string file;
    std::vector<config::ConfigError>& errors;

    void operator()(const YAML::Mark& mark, const std::string& message) const {
        const bool located = !mark.is_null();
        errors.push_back(config::ConfigError{file, located ? mark.line + 1 : 0,
                                             located ? mark.column + 1 : 0, message});
    }
};

// The reasons OpenSSL queued, oldest first, without duplicates; the queue is emptied.
std::string takeOpensslError() {
    std::string text;
    std::set<std::string> seen;
    while (const unsigned long code = ERR_get_error()) {
        const char* reason = ERR_reason_error_string(code);
        std::string one = reason ? reason : "error " + std::to_string(code);
        if (seen.insert(one).second) {
            text += (text.empty() ? "" : "; ") + one;
        }
    }
    return text.empty() ? std::string("unknown OpenSSL error") : text;
}

int protocolVersion(config::TlsVersion version) {
    switch (version) {
        case config::TlsVersion::Tls1_0:
            return TLS1_VERSION;
        case config::TlsVersion::Tls1_1:
            return TLS1_1_VERSION;
        case config::TlsVersion::Tls1_3:
            return TLS1_3_VERSION;
        case config::TlsVersion::Tls1_2:
            break;
    }
    return TLS1_2_VERSION;
}

// "cannot read 'x': No such file or directory", or "" when the file is readable.
std::string unreadable(const std::filesystem::path& path) {
    if (::access(path.c_str(), R_OK) != 0) {
        return "cannot read '" + path.string() + "': " + std::strerror(errno);
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return "'" + path.string() + "' is a directory, not a PEM file";
    }
    return "";
}

// Settings every context of ours shares: no renegotiation, no compression, small idle memory.
void commonOptions(SSL_CTX* ctx) {
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

// The DNS names of the certificate's subjectAltName, or its CN when it has none.
std::vector<std::string> certificateNames(SSL_CTX* ctx) {
    std::vector<std::string> names;
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (cert == nullptr) {
        return names;
    }
    auto* alt =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (alt != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(alt); ++i) {
            const GENERAL_NAME* entry = sk_GENERAL_NAME_value(alt, i);
            if (entry->type == GEN_DNS) {
                const ASN1_STRING* text = entry->d.dNSName;
                names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                   static_cast<size_t>(ASN1_STRING_length(text)));
            }
        }
        GENERAL_NAMES_free(alt);
    }
    if (names.empty()) {
        char cn[256] = {};
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) >
            0) {
            names.emplace_back(cn);
        }
    }
    return names;
}

// Loads one cert and key pair into ctx; false after reporting what is wrong.
bool loadCertificate(SSL_CTX* ctx, const config::CertificateConfig& certificate,
                     const Reporter& report) {
    const std::string at = certificate.key_path + ".";
    if (std::string problem = unreadable(certificate.cert); !problem.empty()) {
        report(certificate.cert_mark, at + "cert: " + problem);
        return false;
    }
    if (std::string problem = unreadable(certificate.key); !problem.empty()) {
        report(certificate.key_mark, at + "key: " + problem);
        return false;
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate.cert.c_str()) != 1) {
        report(certificate.cert_mark,
               at + "cert: '" + certificate.cert.string() +
                   "' is not a PEM certificate chain: " + takeOpensslError());
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, certificate.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        const std::string why = takeOpensslError();
        const bool mismatch = why.find("mismatch") != std::string::npos;
        report(certificate.key_mark, at + "key: '" + certificate.key.string() +
                                         (mismatch ? "' does not match the certificate '" +
                                                         certificate.cert.string() + "'"
                                                   : "' is not a PEM private key") +
                                         ": " + why);
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        report(certificate.key_mark, at + "key: '" + certificate.key.string() +
                                         "' does not match the certificate '" +
                                         certificate.cert.string() + "': " + takeOpensslError());
        return false;
    }
    return true;
}

}  // namespace

bool tlsNameMatches(std::string_view pattern, std::string_view name) {
    while (name.ends_with('.')) {
        name.remove_suffix(1);  // a fully qualified "mx.example.org."
    }
    if (pattern.starts_with("*.")) {
        const size_t dot = name.find('.');
        return dot != std::string_view::npos && dot > 0 &&
               smtp::equalsIgnoreCase(name.substr(dot + 1), pattern.substr(2));
    }
    return smtp::equalsIgnoreCase(pattern, name);
}

// --- ServerTls ---------------------------------------------------------------------------

struct ServerTls::Impl {
    struct Entry {
        std::unique_ptr<ssl::context> context;
        std::vector<std::string> names;
    };
    std::vector<Entry> entries;  // the SNI certificates in config order, then the default last
    std::chrono::milliseconds handshake_timeout{};

    ssl::context& defaultContext() { return *entries.back().context; }

    // The context for an SNI name: exact names first, then wildcards; none: the default.
    SSL_CTX* pick(std::string_view name) {
        for (const bool wildcard : {false, true}) {
            for (const Entry& entry : entries) {
                for (const std::string& pattern : entry.names) {
                    if (pattern.starts_with("*.") == wildcard && tlsNameMatches(pattern, name)) {
                        return entry.context->native_handle();
                    }
                }
            }
        }
        return nullptr;
    }

    static int onServerName(SSL* ssl, int* alert, void* arg) {
        (void)alert;
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        if (name == nullptr) {
            return SSL_TLSEXT_ERR_NOACK;
        }
        SSL_CTX* chosen = static_cast<Impl*>(arg)->pick(name);
        if (chosen != nullptr && chosen != SSL_get_SSL_CTX(ssl)) {
            SSL_set_SSL_CTX(ssl, chosen);
        }
        return SSL_TLSEXT_ERR_OK;  // an unknown name gets the default certificate
    }
};

ServerTls::ServerTls(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerTls::~ServerTls() = default;

ssl::context& ServerTls::context() const {
    return impl_->defaultContext();
}

std::chrono::milliseconds ServerTls::handshakeTimeout() const {
    return impl_->handshake_timeout;
}

std::string ServerTls::summary() const {
    std::string text;
    for (size_t i = 0; i < impl_->entries.size(); ++i) {
        std::string names;
        for (const std::string& name : impl_->entries[i].names) {
            names += (names.empty() ? "" : ",") + name;
        }
        text += (text.empty() ? "" : "; ") + (names.empty() ? std::string("(no name)") : names);
        if (i + 1 == impl_->entries.size()) {
            text += " (default)";
        }
    }
    return text;
}

namespace {

std::unique_ptr<ssl::context> serverContext(const config::ServerTlsConfig& tls,
                                            const config::CertificateConfig& certificate,
                                            bool report_ciphers, const Reporter& report) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* ctx = context->native_handle();
    commonOptions(ctx);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_min_proto_version(ctx, protocolVersion(tls.min_version));
    SSL_CTX_set_dh_auto(ctx, 1);
    static const unsigned char kSessionContext[] = "mailgate";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    bool ok = true;
    ERR_clear_error();
    if (SSL_CTX_set_cipher_list(ctx, tls.ciphers.c_str()) != 1) {
        ok = false;
        if (report_ciphers) {
            report(tls.ciphers_mark, "server.tls.ciphers: no usable cipher in '" + tls.ciphers +
                                         "': " + takeOpensslError());
        }
    }
    ERR_clear_error();
    if (SSL_CTX_set_ciphersuites(ctx, tls.ciphersuites.c_str()) != 1) {
        ok = false;
        if (report_ciphers) {
            report(tls.ciphersuites_mark, "server.tls.ciphersuites: no usable TLS 1.3 suite in '" +
                                              tls.ciphersuites + "': " + takeOpensslError());
        }
    }
    if (!loadCertificate(ctx, certificate, report) || !ok) {
        return nullptr;
    }
    return context;
}

std::shared_ptr<const ServerTls> loadServerTls(const config::ServerTlsConfig& tls,
                                               const Reporter& report) {
    auto impl = std::make_unique<ServerTls::Impl>();
    impl->handshake_timeout = tls.handshake_timeout;
    bool ok = true;
    auto add = [&](const config::CertificateConfig& certificate, bool first) {
        auto context = serverContext(tls, certificate, first, report);
        if (!context) {
            ok = false;
            return;
        }
        std::vector<std::string> names = certificate.names;
        if (names.empty()) {
            names = certificateNames(context->native_handle());
        }
        impl->entries.push_back({std::move(context), std::move(names)});
    };
    for (const auto& certificate : tls.certificates) {
        add(certificate, false);
    }
    add(tls.certificate, true);
    if (!ok) {
        return nullptr;
    }
    ServerTls::Impl* raw = impl.get();
    SSL_CTX* ctx = raw->defaultContext().native_handle();
    SSL_CTX_set_tlsext_servername_callback(ctx, &ServerTls::Impl::onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx, raw);
    return std::make_shared<const ServerTls>(std::move(impl));
}

}  // namespace

// --- ClientTls ---------------------------------------------------------------------------

struct ClientTls::Impl {
    std::unique_ptr<ssl::context> context;
    bool verify = false;
};

ClientTls::ClientTls(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientTls::~ClientTls() = default;

ssl::context& ClientTls::context() const {
    return *impl_->context;
}

bool ClientTls::verify() const {
    return impl_->verify;
}

namespace {

// `key`: where the backend section is, for errors ("backend", "routes[0].backend").
std::shared_ptr<const ClientTls> loadClientTls(const config::BackendConfig& backend,
                                               const std::string& key, const Reporter& report) {
    auto impl = std::make_unique<ClientTls::Impl>();
    impl->verify = backend.tls == config::BackendTls::Required;
    impl->context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* ctx = impl->context->native_handle();
    commonOptions(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    ERR_clear_error();
    if (!backend.ca_file.empty()) {
        if (std::string problem = unreadable(backend.ca_file); !problem.empty()) {
            report(backend.ca_file_mark, key + ".ca_file: " + problem);
            return nullptr;
        }
        if (SSL_CTX_load_verify_locations(ctx, backend.ca_file.c_str(), nullptr) != 1) {
            report(backend.ca_file_mark, key + ".ca_file: '" + backend.ca_file.string() +
                                             "' holds no PEM certificate: " + takeOpensslError());
            return nullptr;
        }
    } else {
        SSL_CTX_set_default_verify_paths(ctx);
        ERR_clear_error();
    }
    // Opportunistic TLS still verifies, but only to log the result; required fails on it.
    SSL_CTX_set_verify(ctx, impl->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    return std::make_shared<const ClientTls>(std::move(impl));
}

}  // namespace

TlsContexts loadTls(const config::Config& config, std::vector<config::ConfigError>& errors) {
    const Reporter report{config.file.string(), errors};
    const size_t before = errors.size();
    TlsContexts contexts;
    if (config.server.tls.enabled) {
        contexts.server = loadServerTls(config.server.tls, report);
    }
    // One client context per route, in the Router's order: each may have its own CA and policy.
    auto loadRoute = [&](const config::BackendConfig& backend, const std::string& key) {
        std::shared_ptr<const ClientTls> client;
        if (backend.type != config::BackendType::Maildir &&
            backend.tls != config::BackendTls::None) {
            client = loadClientTls(backend, key, report);
        }
        contexts.backends.push_back(std::move(client));
    };
    loadRoute(config.backend, "backend");
    for (size_t i = 0; i < config.routes.size(); ++i) {
        loadRoute(config.routes[i].backend, "routes[" + std::to_string(i) + "].backend");
    }
    if (errors.size() != before) {
        return {};
    }
    return contexts;
}

}  // namespace mailgate::net
