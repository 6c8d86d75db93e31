// dnsbl: DNS blocklists and allowlists for the client IP (connect) and the sender domain
// (mail_from). See README.md.
#include <mailgate/plugin.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dns_cache.hpp"
#include "dns_client.hpp"
#include "dnsbl_check.hpp"
#include "dnsbl_config.hpp"

namespace mailgate::dnsbl {
namespace {

using mailgate::sdk::Completion;
using mailgate::sdk::ConfigErrors;
using mailgate::sdk::LogLevel;
using mailgate::sdk::Session;
using mailgate::sdk::Verdict;

class DnsblPlugin final : public mailgate::sdk::Plugin {
  public:
    static constexpr bool nonblocking = true;  // hooks read the cache and hand work to our thread

    static std::unique_ptr<DnsblPlugin> create(std::string_view yaml, ConfigErrors& errors) {
        ConfigParseResult parsed = parseDnsblConfig(yaml);
        for (const auto& error : parsed.errors) {
            errors.add(error.path, error.message);
        }
        if (!parsed.errors.empty()) {
            return nullptr;
        }
        return std::unique_ptr<DnsblPlugin>(new DnsblPlugin(std::move(parsed.config)));
    }

    ~DnsblPlugin() override {
        client_.reset();  // finishes every pending check while the rest is still here
    }

    Verdict on_connect(Session& session) const override {
        if (!config_.hasLookup(Lookup::ClientIp)) {
            return Verdict::Continue;
        }
        const std::string client(session.client_address());
        const auto reversed = reversedClientAddress(client);
        if (!reversed) {
            session.log(LogLevel::Debug, "client address '" + client + "' is not an IP address");
            return Verdict::Continue;
        }
        auto check = std::make_shared<Check>(config_, Check::Stage::Connect, client, std::string(),
                                             ClientOutcome{});
        for (const auto& zone : config_.zones) {
            if (zone.lookup == Lookup::ClientIp) {
                if (auto name = queryName(*reversed, zone.zone)) {
                    check->add(zone, std::move(*name));
                }
            }
        }
        return run(session, std::move(check));
    }

    Verdict on_mail_from(Session& session) const override {
        if (!config_.hasLookup(Lookup::SenderDomain)) {
            return Verdict::Continue;
        }
        const auto domain = senderDomain(session.mail_from());
        if (!domain) {
            return Verdict::Continue;  // null sender, address literal or no domain
        }
        const ClientOutcome* before = session.session_data<ClientOutcome>();
        auto check = std::make_shared<Check>(config_, Check::Stage::MailFrom,
                                             std::string(session.client_address()), *domain,
                                             before != nullptr ? *before : ClientOutcome{});
        for (const auto& zone : config_.zones) {
            if (zone.lookup == Lookup::SenderDomain) {
                if (auto name = queryName(*domain, zone.zone)) {
                    check->add(zone, std::move(*name));
                } else {
                    session.log(LogLevel::Debug,
                                "sender domain " + *domain + " too long for " + zone.zone);
                }
            }
        }
        return run(session, std::move(check));
    }

  private:
    explicit DnsblPlugin(DnsblConfig config)
        : config_(std::move(config)),
          cache_(config_.cache.max_entries),
          client_(std::make_unique<DnsClient>(config_.resolver, config_.timeout / 2)) {}

    // Answers from the cache at once; otherwise asks the DNS thread and returns Pending.
    Verdict run(Session& session, std::shared_ptr<Check> check) const {
        const auto now = DnsCache::Clock::now();
        std::vector<std::size_t> missing;
        for (std::size_t i = 0; i < check->lookups().size(); ++i) {
            if (const auto cached = cache_.find(check->lookups()[i].name, now)) {
                check->resolve(i, *cached);
            } else {
                missing.push_back(i);
            }
        }
        if (missing.empty()) {
            return check->decide(session);
        }
        check->completion.emplace(session);
        const auto deadline = now + config_.timeout;
        client_->post([this, check, missing = std::move(missing), deadline] {
            for (const std::size_t index : missing) {
                client_->query(check->lookups()[index].name,
                               [this, check, index](const DnsAnswer& answer) {
                                   record(*check, index, answer);
                                   finishIfComplete(*check);
                               });
            }
            client_->runAt(deadline, [check] {
                check->expire();
                finishIfComplete(*check);
            });
        });
        return Verdict::Pending;
    }

    void record(Check& check, std::size_t index, const DnsAnswer& answer) const {
        const std::string& name = check.lookups()[index].name;
        const auto now = DnsCache::Clock::now();
        switch (answer.status) {
            case DnsAnswer::Status::Found: {
                CachedAnswer cached{answer.addresses};
                check.resolve(index, cached);
                const auto ttl = std::min<std::chrono::seconds>(std::chrono::seconds(answer.ttl),
                                                                config_.cache.max_ttl);
                cache_.store(name, std::move(cached), ttl, now);
                break;
            }
            case DnsAnswer::Status::NotFound:
                check.resolve(index, CachedAnswer{});
                cache_.store(name, CachedAnswer{},
                             std::min(config_.cache.negative_ttl, config_.cache.max_ttl), now);
                break;
            case DnsAnswer::Status::Failed:
                check.fail(index, answer.error);  // not cached: the next session asks again
                break;
        }
    }

    static void finishIfComplete(Check& check) {
        if (check.finished || !check.complete()) {
            return;
        }
        check.finished = true;
        const Verdict verdict = check.decide(check.completion->session());
        check.completion->complete(verdict);
    }

    DnsblConfig config_;
    mutable DnsCache cache_;
    std::unique_ptr<DnsClient> client_;  // last: stopped first
};

}  // namespace
}  // namespace mailgate::dnsbl

MAILGATE_PLUGIN(mailgate::dnsbl::DnsblPlugin, "dnsbl", "0.1.0")
