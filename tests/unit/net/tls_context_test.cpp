#include "core/net/tls_context.hpp"

#include <gtest/gtest.h>

namespace mailgate::net {
namespace {

// SNI names match exactly (ignoring case and a final dot) or through a one-label wildcard.
TEST(TlsNameTest, ExactAndWildcard) {
    EXPECT_TRUE(tlsNameMatches("mx.example.org", "mx.example.org"));
    EXPECT_TRUE(tlsNameMatches("mx.example.org", "MX.Example.ORG"));
    EXPECT_TRUE(tlsNameMatches("mx.example.org", "mx.example.org."));
    EXPECT_FALSE(tlsNameMatches("mx.example.org", "mx.example.org.evil"));
    EXPECT_TRUE(tlsNameMatches("*.example.org", "a.example.org"));
    EXPECT_FALSE(tlsNameMatches("*.example.org", "example.org"));
    EXPECT_FALSE(tlsNameMatches("*.example.org", "a.b.example.org"));
    EXPECT_FALSE(tlsNameMatches("*.example.org", ".example.org"));
}

// A config without TLS loads no context and reports nothing.
TEST(TlsLoadTest, NothingConfigured) {
    config::Config config;
    std::vector<config::ConfigError> errors;
    const TlsContexts contexts = loadTls(config, errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(contexts.server, nullptr);
    ASSERT_EQ(contexts.backends.size(), 1u);  // the default route, without TLS
    EXPECT_EQ(contexts.backends[0], nullptr);
}

// Unreadable files are errors at their keys, and no context is returned.
TEST(TlsLoadTest, MissingFilesAreLocated) {
    config::LoadResult result = config::loadConfigText(R"(server:
  hostname: mx.example.test
  tls:
    cert: /nonexistent/cert.pem
    key: /nonexistent/key.pem
backend:
  servers: ["127.0.0.1:10025"]
  tls: required
  ca_file: /nonexistent/ca.pem
)",
                                                       "test.yaml");
    ASSERT_TRUE(result.ok());
    std::vector<config::ConfigError> errors;
    const TlsContexts contexts = loadTls(result.config, errors);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].toString(),
              "test.yaml:4:11: server.tls.cert: cannot read '/nonexistent/cert.pem': No such "
              "file or directory");
    EXPECT_EQ(errors[1].toString(),
              "test.yaml:9:12: backend.ca_file: cannot read '/nonexistent/ca.pem': No such file "
              "or directory");
    EXPECT_EQ(contexts.server, nullptr);
}

// Each route has its own client context, in the Router's order; a route's bad CA file is
// located at its own key.
TEST(TlsLoadTest, ClientContextPerRoute) {
    config::LoadResult result = config::loadConfigText(R"(server:
  hostname: mx.example.test
backend:
  servers: ["127.0.0.1:10025"]
routes:
  - domains: [a.example]
    backend:
      servers: ["127.0.0.1:10026"]
      tls: opportunistic
  - domains: [b.example]
    backend:
      type: lmtp
      servers: ["unix:/run/lmtp"]
)",
                                                       "test.yaml");
    ASSERT_TRUE(result.ok());
    std::vector<config::ConfigError> errors;
    const TlsContexts contexts = loadTls(result.config, errors);
    EXPECT_TRUE(errors.empty());
    ASSERT_EQ(contexts.backends.size(), 3u);
    EXPECT_EQ(contexts.backends[0], nullptr);
    ASSERT_NE(contexts.backends[1], nullptr);
    EXPECT_FALSE(contexts.backends[1]->verify());
    EXPECT_EQ(contexts.backends[2], nullptr);

    result = config::loadConfigText(R"(backend:
  servers: ["127.0.0.1:10025"]
routes:
  - domains: [a.example]
    backend:
      servers: ["127.0.0.1:10026"]
      tls: required
      ca_file: /nonexistent/ca.pem
)",
                                    "test.yaml");
    ASSERT_TRUE(result.ok());
    errors.clear();
    loadTls(result.config, errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].toString(),
              "test.yaml:8:16: routes[0].backend.ca_file: cannot read '/nonexistent/ca.pem': No "
              "such file or directory");
}

}  // namespace
}  // namespace mailgate::net
