#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace mailgate::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// Loads inline YAML as "test.yaml"; a leading newline is dropped so that the raw string's first
// line is line 1.
LoadResult load(std::string yaml) {
    if (!yaml.empty() && yaml.front() == '\n') {
        yaml.erase(0, 1);
    }
    return loadConfigText(yaml, "test.yaml");
}

std::vector<std::string> errors(const LoadResult& result) {
    std::vector<std::string> lines;
    for (const ConfigError& error : result.errors) {
        lines.push_back(error.toString());
    }
    return lines;
}

std::vector<std::string> listen(const Config& config) {
    std::vector<std::string> endpoints;
    for (const Endpoint& endpoint : config.server.listen) {
        endpoints.push_back(endpoint.toString());
    }
    return endpoints;
}

std::string machineHostname() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

// The repository root, found by walking up from this source file (or the working directory).
std::filesystem::path repoRoot() {
    for (std::filesystem::path start :
         {std::filesystem::absolute(__FILE__), std::filesystem::current_path()}) {
        for (auto dir = start; dir != dir.root_path(); dir = dir.parent_path()) {
            if (std::filesystem::exists(dir / "core/config/config.hpp")) {
                return dir;
            }
        }
    }
    return {};
}

// A temporary directory removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "mailgate-XXXXXX").string();
        path_ = mkdtemp(pattern.data());
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

const char* const kMinimal = R"(
backend:
  servers: ["127.0.0.1:10025"]
)";

// A config naming only the backend servers gets every documented default.
TEST(ConfigLoadTest, MinimalConfigGetsDefaults) {
    LoadResult result = load(kMinimal);
    ASSERT_THAT(errors(result), ElementsAre());
    const Config& config = result.config;
    EXPECT_EQ(config.file, "test.yaml");
    EXPECT_THAT(listen(config), ElementsAre("127.0.0.1:2525"));
    EXPECT_EQ(config.server.hostname, machineHostname());
    EXPECT_EQ(config.server.threads, 0u);
    EXPECT_EQ(config.server.backlog, 4096);
    EXPECT_EQ(config.limits.max_message_size, 25u * 1024 * 1024);
    EXPECT_EQ(config.limits.max_recipients, 100u);
    EXPECT_EQ(config.limits.max_errors, 10u);
    EXPECT_EQ(config.limits.max_command_line, 512u);
    EXPECT_EQ(config.limits.max_text_line, 1000u);
    EXPECT_EQ(config.limits.max_connections, 1000u);
    EXPECT_EQ(config.limits.greeting_delay, 500ms);
    EXPECT_EQ(config.limits.command_timeout, 5min);
    EXPECT_EQ(config.limits.data_timeout, 10min);
    EXPECT_EQ(config.limits.shutdown_timeout, 30s);
    EXPECT_EQ(config.limits.bare_line_endings, BareLineEndingPolicy::Reject);
    EXPECT_EQ(config.backend.type, BackendType::Smtp);
    ASSERT_EQ(config.backend.servers.size(), 1u);
    EXPECT_EQ(config.backend.servers[0].toString(), "127.0.0.1:10025");
    EXPECT_EQ(config.backend.helo_name, config.server.hostname);
    EXPECT_EQ(config.backend.connect_timeout, 10s);
    EXPECT_EQ(config.backend.command_timeout, 5min);
    EXPECT_EQ(config.backend.data_timeout, 10min);
    EXPECT_TRUE(config.backend.path.empty());
    EXPECT_TRUE(config.plugin_dir.empty());
    EXPECT_TRUE(config.plugins.empty());
    EXPECT_EQ(config.log.level, LogLevel::Info);
}

// Every key of every section is read into its field.
TEST(ConfigLoadTest, FullConfigReadsEveryKey) {
    LoadResult result = load(R"(
server:
  listen: ["0.0.0.0:25", "[::1]:2525"]
  hostname: mx.example.test
  threads: 8
  backlog: 128
limits:
  max_message_size: 1GiB
  max_recipients: 50
  max_errors: 3
  max_command_line: 1KiB
  max_text_line: 2000
  max_connections: 20
  greeting_delay: 0
  command_timeout: 90s
  data_timeout: 1h
  shutdown_timeout: 250ms
  bare_line_endings: normalize
backend:
  type: smtp
  servers: ["10.0.0.1:25", "backup.example.test:10025"]
  helo_name: gw.example.test
  connect_timeout: 3s
  command_timeout: 2m
  data_timeout: 4m
plugin_dir: ./plugins
plugins:
  - name: relay_access
    path: ./build/plugins/relay_access.so
    config:
      local_domains: [example.test]
  - name: spam_score
log:
  level: debug
)");
    ASSERT_THAT(errors(result), ElementsAre());
    const Config& config = result.config;
    EXPECT_THAT(listen(config), ElementsAre("0.0.0.0:25", "[::1]:2525"));
    EXPECT_EQ(config.server.hostname, "mx.example.test");
    EXPECT_EQ(config.server.threads, 8u);
    EXPECT_EQ(config.server.backlog, 128);
    EXPECT_EQ(config.limits.max_message_size, 1024u * 1024 * 1024);
    EXPECT_EQ(config.limits.max_recipients, 50u);
    EXPECT_EQ(config.limits.max_errors, 3u);
    EXPECT_EQ(config.limits.max_command_line, 1024u);
    EXPECT_EQ(config.limits.max_text_line, 2000u);
    EXPECT_EQ(config.limits.max_connections, 20u);
    EXPECT_EQ(config.limits.greeting_delay, 0ms);
    EXPECT_EQ(config.limits.command_timeout, 90s);
    EXPECT_EQ(config.limits.data_timeout, 1h);
    EXPECT_EQ(config.limits.shutdown_timeout, 250ms);
    EXPECT_EQ(config.limits.bare_line_endings, BareLineEndingPolicy::Normalize);
    EXPECT_EQ(config.backend.type, BackendType::Smtp);
    ASSERT_EQ(config.backend.servers.size(), 2u);
    EXPECT_EQ(config.backend.servers[1].host, "backup.example.test");
    EXPECT_EQ(config.backend.servers[1].port, 10025);
    EXPECT_EQ(config.backend.helo_name, "gw.example.test");
    EXPECT_EQ(config.backend.connect_timeout, 3s);
    EXPECT_EQ(config.backend.command_timeout, 2min);
    EXPECT_EQ(config.backend.data_timeout, 4min);
    EXPECT_EQ(config.plugin_dir, "./plugins");
    ASSERT_EQ(config.plugins.size(), 2u);
    EXPECT_EQ(config.plugins[0].name, "relay_access");
    EXPECT_EQ(config.plugins[0].path, "./build/plugins/relay_access.so");
    EXPECT_TRUE(config.plugins[0].path_given);
    EXPECT_EQ(config.plugins[0].config["local_domains"][0].as<std::string>(), "example.test");
    EXPECT_EQ(config.plugins[0].mark.line + 1, 27);
    EXPECT_EQ(config.plugins[0].mark.column + 1, 5);
    EXPECT_EQ(config.plugins[1].name, "spam_score");
    EXPECT_FALSE(config.plugins[1].path_given);
    EXPECT_TRUE(config.plugins[1].path.empty());
    EXPECT_TRUE(config.plugins[1].config.IsNull());
    EXPECT_EQ(config.log.level, LogLevel::Debug);
}

// server.listen also takes a single string, and the HELO name follows server.hostname.
TEST(ConfigLoadTest, ListenTakesOneStringAndHeloFollowsHostname) {
    LoadResult result = load(R"(
server:
  listen: "[::]:25"
  hostname: mx.example.test
backend:
  type: maildir
  path: var/mail
)");
    ASSERT_THAT(errors(result), ElementsAre());
    EXPECT_THAT(listen(result.config), ElementsAre("[::]:25"));
    EXPECT_EQ(result.config.backend.helo_name, "mx.example.test");
    EXPECT_EQ(result.config.backend.type, BackendType::Maildir);
    EXPECT_EQ(result.config.backend.path, "var/mail");  // kept relative, as written
}

// Sizes out of their bounds or written with decimal units are located at the value.
TEST(ConfigLoadTest, SizeErrors) {
    LoadResult result = load(R"(
limits:
  max_message_size: 0
  max_command_line: 511
  max_text_line: 2MiB
  max_recipients: 25MB
backend:
  servers: ["127.0.0.1:10025"]
limits2: 1
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:2:21: limits.max_message_size: must be greater than 0, got '0'",
            "test.yaml:3:21: limits.max_command_line: must be at least 512, got '511'",
            "test.yaml:4:18: limits.max_text_line: must be at most 1MiB, got '2MiB'",
            "test.yaml:5:19: limits.max_recipients: expected a positive integer, got '25MB'",
            "test.yaml:8:1: unknown key 'limits2' at the top level (did you mean 'limits'?)"));
}

// A decimal unit gets a hint, and command lines above 64KiB are refused.
TEST(ConfigLoadTest, SizeHints) {
    LoadResult result = load(R"(
limits: {max_message_size: 25MB, max_command_line: 65537}
backend: {servers: ["127.0.0.1:10025"]}
)");
    EXPECT_THAT(errors(result),
                ElementsAre("test.yaml:1:28: limits.max_message_size: expected a size like 25MiB, "
                            "512KiB or 1000 (bytes), got '25MB' (use KiB, MiB or GiB; KB, MB and "
                            "GB are not accepted)",
                            "test.yaml:1:52: limits.max_command_line: must be at most 64KiB, got "
                            "'65537'"));
}

// Durations need a unit, stay within 24h, and timeouts must not be zero.
TEST(ConfigLoadTest, DurationErrors) {
    LoadResult result = load(R"(
limits:
  greeting_delay: 5
  command_timeout: 0
  data_timeout: 25h
  shutdown_timeout: 1.5s
backend:
  servers: ["127.0.0.1:10025"]
  connect_timeout: 0s
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre("test.yaml:2:19: limits.greeting_delay: expected a duration like 500ms, 30s, "
                    "5m or 1h, got '5' (add a unit: ms, s, m or h)",
                    "test.yaml:3:20: limits.command_timeout: must be greater than 0, got '0'",
                    "test.yaml:4:17: limits.data_timeout: must be at most 24h, got '25h'",
                    "test.yaml:5:21: limits.shutdown_timeout: expected a duration like 500ms, "
                    "30s, 5m or 1h, got '1.5s'",
                    "test.yaml:8:20: backend.connect_timeout: must be greater than 0, got '0s'"));
}

// Numbers must be plain non-negative integers within their bounds.
TEST(ConfigLoadTest, NumberErrors) {
    LoadResult result = load(R"(
server:
  threads: 257
  backlog: 0
limits:
  max_recipients: -1
  max_errors: 1.5
  max_connections: abc
  max_text_line: 999
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:2:12: server.threads: must be at most 256, got '257'",
            "test.yaml:3:12: server.backlog: expected a positive integer, got '0'",
            "test.yaml:5:19: limits.max_recipients: expected a positive integer, got '-1'",
            "test.yaml:6:15: limits.max_errors: expected a positive integer, got '1.5'",
            "test.yaml:7:20: limits.max_connections: expected a positive integer, got 'abc'",
            "test.yaml:8:18: limits.max_text_line: must be at least 1000, got '999'"));
}

// A value of the wrong YAML type names what was expected; an empty value points at its key.
TEST(ConfigLoadTest, WrongTypes) {
    LoadResult result = load(R"(
server:
  listen: {a: 1}
  threads: [1]
  hostname:
limits: 5
backend:
  servers: ["127.0.0.1:10025"]
plugins: {name: x}
log: [info]
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:2:11: server.listen: expected host:port or a list of them, got a map",
            "test.yaml:3:12: server.threads: expected a non-negative integer, got a list",
            "test.yaml:4:3: server.hostname: expected a domain name, got an empty value",
            "test.yaml:5:9: limits: expected a map of settings, got '5'",
            "test.yaml:8:10: plugins: expected a list of plugins",
            "test.yaml:9:6: log: expected a map of settings, got a list"));
}

// A document that is not a map is refused as a whole.
TEST(ConfigLoadTest, TopLevelMustBeAMap) {
    EXPECT_THAT(errors(load("- server\n- backend\n")),
                ElementsAre("test.yaml:1:1: expected a map of settings, got a list"));
}

// Enumerations list the accepted words.
TEST(ConfigLoadTest, EnumErrors) {
    LoadResult result = load(R"(
limits:
  bare_line_endings: strip
backend:
  type: qmtp
log:
  level: verbose
)");
    EXPECT_THAT(errors(result),
                ElementsAre("test.yaml:2:22: limits.bare_line_endings: expected one of reject, "
                            "normalize, got 'strip'",
                            "test.yaml:4:9: backend.type: expected one of smtp, lmtp, maildir, got "
                            "'qmtp'",
                            "test.yaml:6:10: log.level: expected one of debug, info, warning, "
                            "error, got 'verbose'"));
}

// Every problem in the file is reported in one pass, sorted by position.
TEST(ConfigLoadTest, ReportsAllErrorsAtOnce) {
    LoadResult result = load(R"(
log:
  level: loud
server:
  hostname: bad_name.example
  listen: ["127.0.0.1:0", "localhost:25", "::1:25"]
backend:
  servers: ["127.0.0.1:10025", "foo"]
  helo_name: -bad-
)");
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:2:10: log.level: expected one of debug, info, warning, error, got 'loud'",
            "test.yaml:4:13: server.hostname: 'bad_name.example' is not a valid domain name "
            "(letters, digits, hyphens and dots)",
            "test.yaml:5:12: server.listen[0]: invalid endpoint '127.0.0.1:0': the port must be "
            "a number from 1 to 65535",
            "test.yaml:5:43: server.listen[2]: invalid endpoint '::1:25': IPv6 addresses must be "
            "written in brackets, like [::1]:25",
            "test.yaml:7:32: backend.servers[1]: invalid endpoint 'foo': expected host:port",
            "test.yaml:8:14: backend.helo_name: '-bad-' is not a valid domain name (letters, "
            "digits, hyphens and dots)"));
}

// Unknown keys are located at the key at every level, with a suggestion for near misses.
TEST(ConfigLoadTest, UnknownKeysAtEachLevel) {
    LoadResult result = load(R"(
servers: {}
server:
  port: 25
limits:
  max_recipent: 10
backend:
  servers: ["127.0.0.1:10025"]
  starttls: true
plugins:
  - name: relay_access
    settings: {}
log:
  file: /var/log/mailgate.log
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:1:1: unknown key 'servers' at the top level (did you mean 'server'?)",
            "test.yaml:3:3: unknown key 'port' in 'server'",
            "test.yaml:5:3: unknown key 'max_recipent' in 'limits' (did you mean "
            "'max_recipients'?)",
            "test.yaml:8:3: unknown key 'starttls' in 'backend'",
            "test.yaml:11:5: unknown key 'settings' in 'plugins[0]'",
            "test.yaml:13:3: unknown key 'file' in 'log'"));
}

// A YAML syntax error becomes one error at the parser's position.
TEST(ConfigLoadTest, SyntaxErrorIsLocated) {
    LoadResult result = load(R"(
backend:
  servers: ["127.0.0.1:10025"
log:
  level: info
)");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(errors(result)[0],
              "test.yaml:3:1: YAML syntax error: end of sequence flow not found");
    EXPECT_EQ(result.errors[0].line, 3);
    EXPECT_EQ(result.errors[0].column, 1);
}

// A missing file is one error without a position, naming the file and the reason.
TEST(ConfigLoadTest, MissingFile) {
    TempDir dir;
    std::filesystem::path file = dir.path() / "nope.yaml";
    LoadResult result = loadConfigFile(file);
    EXPECT_THAT(errors(result),
                ElementsAre(file.string() + ": cannot read the config: No such file or directory"));
    EXPECT_EQ(result.errors[0].line, 0);
}

// A directory given as the config file is refused.
TEST(ConfigLoadTest, DirectoryIsNotAConfigFile) {
    TempDir dir;
    EXPECT_THAT(errors(loadConfigFile(dir.path())),
                ElementsAre(dir.path().string() + ": cannot read the config: it is a directory"));
}

// A file on disk is read and its errors name the file.
TEST(ConfigLoadTest, LoadsAFileAndNamesItInErrors) {
    TempDir dir;
    std::filesystem::path file = dir.path() / "mailgate.yaml";
    std::ofstream(file) << "backend:\n  type: maildir\n  path: ./var/maildir\nlog: {level: x}\n";
    LoadResult result = loadConfigFile(file);
    EXPECT_EQ(result.config.file, file);
    EXPECT_EQ(result.config.backend.path, "./var/maildir");
    EXPECT_THAT(errors(result),
                ElementsAre(file.string() + ":4:14: log.level: expected one of debug, info, "
                                            "warning, error, got 'x'"));
}

// A maildir backend needs a path and takes no servers.
TEST(ConfigLoadTest, MaildirRules) {
    EXPECT_THAT(errors(load(R"(
backend:
  type: maildir
  servers: ["127.0.0.1:10025"]
)")),
                ElementsAre("test.yaml:1:1: backend.path: required when backend.type is maildir",
                            "test.yaml:3:12: backend.servers: only used when backend.type is "
                            "smtp or lmtp"));
}

// An smtp backend, also by default, needs servers and takes no path.
TEST(ConfigLoadTest, SmtpRules) {
    EXPECT_THAT(errors(load(R"(
backend:
  path: ./var/maildir
)")),
                ElementsAre("test.yaml:1:1: backend.servers: required when backend.type is smtp "
                            "(the default)",
                            "test.yaml:2:9: backend.path: only used when backend.type is maildir"));
    EXPECT_THAT(errors(load(R"(
backend:
  type: smtp
  servers: []
)")),
                ElementsAre("test.yaml:3:12: backend.servers: expected at least one host:port"));
}

// An empty backend section still needs its servers; a bad type skips the type rules.
TEST(ConfigLoadTest, EmptyBackendAndBadType) {
    EXPECT_THAT(errors(load("backend:\n")),
                ElementsAre("test.yaml:1:1: backend.servers: required when backend.type is smtp "
                            "(the default)"));
    EXPECT_THAT(errors(load("backend:\n  type: qmtp\n")),
                ElementsAre("test.yaml:2:9: backend.type: expected one of smtp, lmtp, maildir, got "
                            "'qmtp'"));
}

// The backend section is required, located at the document start.
TEST(ConfigLoadTest, MissingBackendSection) {
    EXPECT_THAT(errors(load("\n# comment\n\nlog: {level: info}\n")),
                ElementsAre("test.yaml:1:1: missing required section 'backend'"));
    EXPECT_THAT(errors(load("")), ElementsAre("test.yaml:1:1: missing required section 'backend'"));
}

// A key given twice in one map is an error at the second occurrence, at any level.
TEST(ConfigLoadTest, DuplicateKeys) {
    LoadResult result = load(R"(
backend:
  servers: ["127.0.0.1:10025"]
  connect_timeout: 1s
  connect_timeout: 2s
log: {level: info, level: debug}
backend: {}
)");
    EXPECT_THAT(errors(result),
                ElementsAre("test.yaml:4:3: duplicate key 'connect_timeout' in 'backend' (first at "
                            "line 3)",
                            "test.yaml:5:20: duplicate key 'level' in 'log' (first at line 5)",
                            "test.yaml:6:1: duplicate key 'backend' at the top level (first at "
                            "line 1)"));
    EXPECT_EQ(result.config.backend.connect_timeout, 1s);  // the first one is read
}

// Endpoints in the config accept bracketed IPv6 and reject bad ports and hosts.
TEST(ConfigLoadTest, EndpointsInConfig) {
    LoadResult good = load(R"(
server:
  listen: ["[::1]:2525", "[2001:db8::25]:25", "mail.example.test:25"]
backend:
  servers: "[::1]:10025"
)");
    ASSERT_THAT(errors(good), ElementsAre());
    EXPECT_THAT(listen(good.config),
                ElementsAre("[::1]:2525", "[2001:db8::25]:25", "mail.example.test:25"));
    EXPECT_EQ(good.config.backend.servers[0].host, "::1");

    LoadResult bad = load(R"(
server:
  listen: []
backend:
  servers:
    - 127.0.0.1:65536
    - "[::1]"
    - 300.0.0.1:25
    - [nested]
)");
    EXPECT_THAT(
        errors(bad),
        ElementsAre(
            "test.yaml:2:11: server.listen: expected at least one host:port",
            "test.yaml:5:7: backend.servers[0]: invalid endpoint "
            "'127.0.0.1:65536': the port must be a number from 1 to 65535",
            "test.yaml:6:7: backend.servers[1]: invalid endpoint '[::1]': "
            "expected [IPv6 address]:port",
            "test.yaml:7:7: backend.servers[2]: invalid endpoint '300.0.0.1:25': "
            "'300.0.0.1' is not an IPv4 address",
            "test.yaml:8:7: backend.servers[3]: expected host:port or unix:/path, got a list"));
}

// Plugin entries need a well-formed name; duplicates and an empty list are fine.
TEST(ConfigLoadTest, PluginRules) {
    LoadResult result = load(R"(
backend:
  servers: ["127.0.0.1:10025"]
plugins:
  - path: ./x.so
  - name: Relay-Access
  - relay_access
  -
  - name: spam_score
    path: ""
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre("test.yaml:4:3: plugins[3].name: required",
                    "test.yaml:4:5: plugins[0].name: required",
                    "test.yaml:5:11: plugins[1].name: 'Relay-Access' is not a valid plugin name "
                    "(lowercase letters, digits and '_')",
                    "test.yaml:6:5: plugins[2]: expected a map of settings, got 'relay_access'",
                    "test.yaml:9:11: plugins[4].path: expected a path to a .so file, got an "
                    "empty string"));

    LoadResult same = load(R"(
backend: {servers: ["127.0.0.1:10025"]}
plugins:
  - name: rewrite
    config: {from: a}
  - name: rewrite
    config: [1, 2]
)");
    ASSERT_THAT(errors(same), ElementsAre());
    ASSERT_EQ(same.config.plugins.size(), 2u);
    EXPECT_TRUE(same.config.plugins[0].config.IsMap());
    EXPECT_TRUE(same.config.plugins[1].config.IsSequence());
    EXPECT_THAT(errors(load("backend: {servers: [\"127.0.0.1:10025\"]}\nplugins: []\n")),
                ElementsAre());
}

// Sections left empty keep their defaults instead of being errors.
TEST(ConfigLoadTest, EmptySectionsKeepDefaults) {
    LoadResult result = load(R"(
server:
limits:
plugins:
log:
backend:
  type: maildir
  path: /var/spool/mailgate
)");
    ASSERT_THAT(errors(result), ElementsAre());
    EXPECT_THAT(listen(result.config), ElementsAre("127.0.0.1:2525"));
    EXPECT_EQ(result.config.limits.max_recipients, 100u);
    EXPECT_TRUE(result.config.plugins.empty());
    EXPECT_EQ(result.config.log.level, LogLevel::Info);
}

// A key that is itself a list or map is refused at the key.
TEST(ConfigLoadTest, KeysMustBeNames) {
    EXPECT_THAT(errors(load(R"(
backend:
  servers: ["127.0.0.1:10025"]
  ? [a, b]
  : 1
)")),
                ElementsAre("test.yaml:3:5: keys must be plain names in 'backend', got a list"));
}

// Extra YAML documents after the first are refused.
TEST(ConfigLoadTest, OneDocumentOnly) {
    EXPECT_THAT(errors(load("backend: {servers: [\"127.0.0.1:10025\"]}\n---\nlog: {}\n")),
                ElementsAre("test.yaml:3:1: expected one YAML document, found 2"));
}

// Errors print as FILE:LINE:COL: message, or FILE: message without a line.
TEST(ConfigLoadTest, ErrorToString) {
    EXPECT_EQ((ConfigError{"a.yaml", 3, 7, "bad"}).toString(), "a.yaml:3:7: bad");
    EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "gone"}).toString(), "a.yaml: gone");
}

// The sample configurations shipped in config/ load without errors.
TEST(ConfigLoadTest, SampleConfigsLoad) {
    std::filesystem::path root = repoRoot();
    ASSERT_FALSE(root.empty()) << "repository root not found from " << __FILE__;

    LoadResult tryOut = loadConfigFile(root / "config/mailgate.yaml");
    EXPECT_THAT(errors(tryOut), ElementsAre());
    EXPECT_THAT(listen(tryOut.config), ElementsAre("127.0.0.1:2525"));
    EXPECT_EQ(tryOut.config.server.hostname, "mailgate.localhost");
    EXPECT_EQ(tryOut.config.backend.type, BackendType::Maildir);
    EXPECT_EQ(tryOut.config.backend.path, "./var/maildir");
    ASSERT_EQ(tryOut.config.plugins.size(), 3u);
    EXPECT_EQ(tryOut.config.plugins[0].name, "relay_access");
    EXPECT_EQ(tryOut.config.plugins[0].config["local_domains"][0].as<std::string>(), "localhost");
    EXPECT_EQ(tryOut.config.plugins[1].name, "spam_score");
    EXPECT_EQ(tryOut.config.plugins[1].config["rules_file"].as<std::string>(),
              "config/rules/spam_score.yaml");
    EXPECT_EQ(tryOut.config.plugins[2].name, "rewrite");

    LoadResult smtp = loadConfigFile(root / "config/smtp-backend.example.yaml");
    EXPECT_THAT(errors(smtp), ElementsAre());
    EXPECT_EQ(smtp.config.backend.type, BackendType::Smtp);
    ASSERT_EQ(smtp.config.backend.servers.size(), 1u);
    EXPECT_EQ(smtp.config.backend.servers[0].toString(), "127.0.0.1:10025");
    ASSERT_EQ(smtp.config.plugins.size(), 1u);
    EXPECT_EQ(smtp.config.plugins[0].config["local_domains"][0].as<std::string>(), "example.test");
}

}  // namespace
}  // namespace mailgate::config

namespace mailgate::config {
namespace {

// The spill folder must exist at load time: a mistake shows at start, not as 451s later.
TEST(ConfigLoadTest, SpillDirectoryMustExist) {
    LoadResult missing = loadConfigText(
        "limits:\n  spill_directory: /nonexistent/spill\nbackend:\n  servers: [\"127.0.0.1:25\"]\n",
        "test.yaml");
    ASSERT_EQ(missing.errors.size(), 1u);
    EXPECT_EQ(missing.errors[0].toString(),
              "test.yaml:2:20: limits.spill_directory: '/nonexistent/spill' is not an existing "
              "folder");
    LoadResult present = loadConfigText(
        "limits:\n  spill_directory: /tmp\nbackend:\n  servers: [\"127.0.0.1:25\"]\n", "test.yaml");
    EXPECT_TRUE(present.ok());
    EXPECT_EQ(present.config.limits.spill_directory, "/tmp");
}

// The metrics endpoint is off by default and takes exactly one host:port; logs default to text.
TEST(ConfigLoadTest, MetricsAndLogFormat) {
    LoadResult defaults = load(kMinimal);
    EXPECT_FALSE(defaults.config.metrics.listen.has_value());
    EXPECT_EQ(defaults.config.log.format, LogFormat::Text);

    LoadResult set = load(R"(
backend:
  servers: ["127.0.0.1:10025"]
metrics:
  listen: "[::1]:9187"
log:
  format: json
)");
    ASSERT_THAT(errors(set), ElementsAre());
    ASSERT_TRUE(set.config.metrics.listen.has_value());
    EXPECT_EQ(set.config.metrics.listen->toString(), "[::1]:9187");
    EXPECT_EQ(set.config.log.format, LogFormat::Json);
}

// Each mistake in the metrics section is reported where it is.
TEST(ConfigLoadTest, MetricsErrors) {
    EXPECT_THAT(errors(load(R"(
backend:
  servers: ["127.0.0.1:10025"]
metrics:
  listen: 9187
)")),
                ElementsAre("test.yaml:4:11: metrics.listen: invalid endpoint '9187': "
                            "expected host:port"));
    EXPECT_THAT(errors(load(R"(
backend:
  servers: ["127.0.0.1:10025"]
metrics:
  listen: ["127.0.0.1:1", "127.0.0.1:2"]
)")),
                ElementsAre("test.yaml:4:11: metrics.listen: expected one host:port"));
    EXPECT_THAT(errors(load(R"(
backend:
  servers: ["127.0.0.1:10025"]
metrics:
  enabled: true
)")),
                ElementsAre("test.yaml:3:1: metrics.listen: required to enable the metrics "
                            "endpoint",
                            "test.yaml:4:3: unknown key 'enabled' in 'metrics'"));
}

// The config the .deb installs as /etc/mailgate/mailgate.yaml is valid as shipped.
TEST(ConfigLoadTest, SystemSampleConfigLoads) {
    const std::filesystem::path root = repoRoot();
    ASSERT_FALSE(root.empty());
    LoadResult system = loadConfigFile(root / "config/system/mailgate.yaml");
    EXPECT_THAT(errors(system), ElementsAre());
    EXPECT_THAT(listen(system.config), ElementsAre("0.0.0.0:25", "[::]:25"));
    ASSERT_TRUE(system.config.metrics.listen.has_value());
    EXPECT_EQ(system.config.metrics.listen->toString(), "127.0.0.1:9187");
}

}  // namespace
}  // namespace mailgate::config

namespace mailgate::config {
namespace {

// Listeners are strings or maps; TLS settings sit beside cert and key under server.tls.
TEST(ConfigTlsTest, ListenersAndServerTls) {
    LoadResult result = load(R"(
server:
  hostname: mx.example.test
  listen:
    - "127.0.0.1:25"
    - {address: "127.0.0.1:465", tls: implicit}
    - {address: "[::1]:587", require_tls: true}
    - {address: "127.0.0.1:2526", tls: none}
  tls:
    cert: /etc/mailgate/mx.pem
    key: /etc/mailgate/mx.key
    certificates:
      - {cert: a.pem, key: a.key}
      - {cert: b.pem, key: b.key, names: ["b.example.org", "*.b.example.org"]}
    min_version: TLSv1.3
    ciphers: ECDHE-RSA-AES128-GCM-SHA256
    handshake_timeout: 10s
backend:
  servers: ["127.0.0.1:10025"]
)");
    ASSERT_THAT(errors(result), ElementsAre());
    const ServerConfig& server = result.config.server;
    EXPECT_THAT(listen(result.config),
                ElementsAre("127.0.0.1:25", "127.0.0.1:465", "[::1]:587", "127.0.0.1:2526"));
    EXPECT_EQ(server.listen[0].tls, ListenerTls::Starttls);
    EXPECT_FALSE(server.listen[0].require_tls);
    EXPECT_EQ(server.listen[1].tls, ListenerTls::Implicit);
    EXPECT_TRUE(server.listen[2].require_tls);
    EXPECT_EQ(server.listen[3].tls, ListenerTls::None);
    EXPECT_EQ(server.listen[1].describe(), "127.0.0.1:465 (tls: implicit)");
    EXPECT_TRUE(server.tls.enabled);
    EXPECT_EQ(server.tls.certificate.cert, "/etc/mailgate/mx.pem");
    EXPECT_EQ(server.tls.certificate.key_path, "server.tls");
    ASSERT_EQ(server.tls.certificates.size(), 2u);
    EXPECT_EQ(server.tls.certificates[1].key_path, "server.tls.certificates[1]");
    EXPECT_THAT(server.tls.certificates[1].names, ElementsAre("b.example.org", "*.b.example.org"));
    EXPECT_EQ(server.tls.min_version, TlsVersion::Tls1_3);
    EXPECT_EQ(server.tls.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    EXPECT_EQ(server.tls.ciphersuites, kDefaultTlsCiphersuites);
    EXPECT_EQ(server.tls.handshake_timeout, 10s);
}

// Without server.tls nothing is enabled, and defaults are modern.
TEST(ConfigTlsTest, Defaults) {
    LoadResult result = load(
        "server: {hostname: mx.example.test}\nbackend: {servers: "
        "[\"127.0.0.1:25\"]}\n");
    ASSERT_THAT(errors(result), ElementsAre());
    EXPECT_FALSE(result.config.server.tls.enabled);
    EXPECT_EQ(result.config.server.tls.min_version, TlsVersion::Tls1_2);
    EXPECT_EQ(result.config.backend.tls, BackendTls::None);
    EXPECT_FALSE(result.config.auth.enabled);
    EXPECT_EQ(result.config.server.listen[0].tls, ListenerTls::Starttls);
}

TEST(ConfigTlsTest, Errors) {
    LoadResult result = load(R"(
server:
  hostname: mx.example.test
  listen:
    - {address: "127.0.0.1:465", tls: implicit}
    - {address: "127.0.0.1:587", tls: none, require_tls: true}
    - {tls: starttls}
    - {address: "127.0.0.1:25", require_tls: yes}
    - [1]
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre("test.yaml:4:7: server.listen[0]: tls: implicit and require_tls need a "
                    "certificate (server.tls)",
                    "test.yaml:5:58: server.listen[1].require_tls: needs tls: starttls or tls: "
                    "implicit",
                    "test.yaml:6:7: server.listen[2].address: required",
                    "test.yaml:7:46: server.listen[3].require_tls: expected true or false, got "
                    "'yes'",
                    "test.yaml:8:7: server.listen[4]: expected host:port or a map with address, "
                    "tls and require_tls, got a list"));

    LoadResult tls = load(R"(
server:
  hostname: mx.example.test
  tls:
    key: k.pem
    min_version: TLSv1.4
    certificates:
      - {cert: a.pem, names: ["bad name"]}
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(errors(tls),
                ElementsAre("test.yaml:3:3: server.tls.cert: required (a PEM file)",
                            "test.yaml:5:18: server.tls.min_version: expected one of TLSv1, "
                            "TLSv1.1, TLSv1.2, TLSv1.3, got 'TLSv1.4'",
                            "test.yaml:7:9: server.tls.certificates[0].key: required (a PEM file)",
                            "test.yaml:7:31: server.tls.certificates[0].names[0]: 'bad name' is "
                            "not a host name (a wildcard is written *.example.org)"));
}

TEST(ConfigTlsTest, BackendTls) {
    LoadResult result = load(R"(
server: {hostname: mx.example.test}
backend:
  servers: ["127.0.0.1:10025"]
  tls: required
  ca_file: /etc/ssl/ca.pem
  expected_name: backend.example.org
)");
    ASSERT_THAT(errors(result), ElementsAre());
    EXPECT_EQ(result.config.backend.tls, BackendTls::Required);
    EXPECT_EQ(result.config.backend.ca_file, "/etc/ssl/ca.pem");
    EXPECT_EQ(result.config.backend.expected_name, "backend.example.org");

    LoadResult bad = load(R"(
server: {hostname: mx.example.test}
backend:
  type: maildir
  path: x
  tls: opportunistic
  ca_file: ca.pem
)");
    EXPECT_THAT(
        errors(bad),
        ElementsAre("test.yaml:5:8: backend.tls: only used when backend.type is smtp or lmtp"));

    // TLS is for TCP servers: an LMTP unix socket with tls is an error at the tls key.
    LoadResult unix_socket = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
routes:
  - domains: [local.example]
    backend:
      type: lmtp
      servers: ["127.0.0.1:24", "unix:/run/dovecot/lmtp"]
      tls: required
)");
    EXPECT_THAT(errors(unix_socket),
                ElementsAre("test.yaml:8:12: routes[0].backend.tls: TLS is only for TCP servers, "
                            "but routes[0].backend.servers has unix:/run/dovecot/lmtp (use tls: "
                            "none for a unix socket)"));
}

TEST(ConfigAuthTest, SettingsAndErrors) {
    LoadResult result = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth:
  users_file: /etc/mailgate/users
  allow_plaintext: true
  max_failures: 3
  failure_window: 5m
  failure_delay: 0
)");
    ASSERT_THAT(errors(result), ElementsAre());
    const AuthConfig& auth = result.config.auth;
    EXPECT_TRUE(auth.enabled);
    EXPECT_EQ(auth.users_file, "/etc/mailgate/users");
    EXPECT_TRUE(auth.allow_plaintext);
    EXPECT_EQ(auth.max_failures, 3u);
    EXPECT_EQ(auth.failure_window, 5min);
    EXPECT_EQ(auth.failure_delay, 0ms);

    LoadResult bad = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth:
  allow_plaintext: maybe
)");
    EXPECT_THAT(errors(bad),
                ElementsAre("test.yaml:3:1: auth.users_file: required (or dovecot_socket, to ask "
                            "Dovecot instead)",
                            "test.yaml:4:20: auth.allow_plaintext: expected true or false, got "
                            "'maybe'"));
}

// auth.dovecot_socket instead of users_file: exactly one of them, each error at its key.
TEST(ConfigAuthTest, DovecotSocket) {
    LoadResult result = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth:
  dovecot_socket: /run/dovecot/auth-client
  dovecot_timeout: 3s
)");
    ASSERT_THAT(errors(result), ElementsAre());
    EXPECT_TRUE(result.config.auth.enabled);
    EXPECT_EQ(result.config.auth.dovecot_socket, "/run/dovecot/auth-client");
    EXPECT_EQ(result.config.auth.dovecot_timeout, 3s);
    EXPECT_TRUE(result.config.auth.users_file.empty());

    LoadResult defaults = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth: {dovecot_socket: /run/dovecot/auth-client}
)");
    ASSERT_THAT(errors(defaults), ElementsAre());
    EXPECT_EQ(defaults.config.auth.dovecot_timeout, 10s);

    LoadResult both = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth:
  users_file: /etc/mailgate/users
  dovecot_socket: /run/dovecot/auth-client
)");
    EXPECT_THAT(errors(both), ElementsAre("test.yaml:5:19: auth.dovecot_socket: not together "
                                          "with auth.users_file: give one of them"));

    LoadResult neither = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth:
  max_failures: 3
)");
    EXPECT_THAT(errors(neither),
                ElementsAre("test.yaml:3:1: auth.users_file: required (or dovecot_socket, to "
                            "ask Dovecot instead)"));

    LoadResult bad = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth:
  users_file: /etc/mailgate/users
  dovecot_timeout: 0
)");
    EXPECT_THAT(errors(bad),
                ElementsAre("test.yaml:5:20: auth.dovecot_timeout: must be greater than 0, got '0'",
                            "test.yaml:5:20: auth.dovecot_timeout: only used with "
                            "auth.dovecot_socket"));

    LoadResult relative = load(R"(
server: {hostname: mx.example.test}
backend: {servers: ["127.0.0.1:10025"]}
auth: {dovecot_socket: run/auth-client}
)");
    EXPECT_THAT(errors(relative),
                ElementsAre("test.yaml:3:24: auth.dovecot_socket: 'run/auth-client' is not an "
                            "absolute path of at most 107 characters"));
}

}  // namespace
}  // namespace mailgate::config
