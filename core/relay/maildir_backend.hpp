#pragma once

#include <filesystem>
#include <string>

#include "core/relay/backend.hpp"

namespace mailgate::relay {

// Delivers each accepted message as one file into a Maildir (tmp/ then rename into new/), for
// trying mailgate out without another mail server, and for the quarantine. Recipients are not
// checked: the plugins decide who may receive mail. The file is written and synced on a disk
// thread (net::runOnDiskThread), so a slow disk holds up only this message.
class MaildirBackend final : public Backend {
  public:
    MaildirBackend(std::filesystem::path root, std::string hostname);

    awaitable<smtp::Reply> mailFrom(const filter::Transaction& transaction) override;
    awaitable<smtp::Reply> rcptTo(const filter::Transaction& transaction,
                                  const std::string& recipient) override;
    awaitable<smtp::Reply> data(const filter::Transaction& transaction,
                                const OutgoingMessage& message) override;
    awaitable<void> reset() override { co_return; }
    awaitable<void> quit() override { co_return; }
    void abort() override {}

  private:
    // Writes and syncs the file, on a disk thread; returns an empty string or the reason it
    // failed.
    std::string deliver(const filter::Transaction& transaction, const OutgoingMessage& message,
                        std::string& file_name);
    std::string uniqueName();

    std::filesystem::path root_;
    std::string hostname_;
};

}  // namespace mailgate::relay
