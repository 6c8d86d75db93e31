#pragma once

#include <mailgate/plugin.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns_cache.hpp"
#include "dns_client.hpp"
#include "dnsbl_config.hpp"

// One stage's lookups for one session (the client IP at connect, the sender domain at MAIL):
// collects the answers, then adds the symbols and decides.
namespace mailgate::dnsbl {

// What the connect stage leaves for MAIL FROM, in the session's private data.
struct ClientOutcome {
    double weight = 0;
    std::vector<std::string> listed_zones;  // zones with a positive weight that listed the client
};

struct ZoneLookup {
    const Zone* zone = nullptr;
    std::string name;  // the query, "1.0.0.127.zen.test"
    enum class State { Waiting, Listed, NotListed, Failed } state = State::Waiting;
    std::string detail;  // the matching answer, or why the lookup failed
};

// The first answer in `zone.returns`, if any.
std::optional<std::uint32_t> matchingAnswer(const Zone& zone,
                                            const std::vector<std::uint32_t>& addresses);

class Check {
  public:
    enum class Stage { Connect, MailFrom };

    Check(const DnsblConfig& config, Stage stage, std::string client, std::string sender_domain,
          ClientOutcome before);

    void add(const Zone& zone, std::string name);
    std::vector<ZoneLookup>& lookups() { return lookups_; }

    // Records an answer (from the cache or the DNS); a Failed answer fails open.
    void resolve(std::size_t index, const CachedAnswer& answer);
    void fail(std::size_t index, const std::string& why);
    // Marks every lookup still waiting as failed (the plugin's timeout).
    void expire();
    bool complete() const;

    // Adds symbols, logs and decides. Call once, when complete().
    mailgate::sdk::Verdict decide(const mailgate::sdk::Session& session) const;

    // For a check that went asynchronous: the handle to finish it, and whether it was.
    std::optional<mailgate::sdk::Completion> completion;
    bool finished = false;

  private:
    std::string replyText(const std::vector<std::string>& zones) const;

    const DnsblConfig& config_;
    Stage stage_;
    std::string client_;
    std::string sender_domain_;
    ClientOutcome before_;
    std::vector<ZoneLookup> lookups_;
};

}  // namespace mailgate::dnsbl
