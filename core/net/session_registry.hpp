#pragma once

#include <unordered_set>

namespace mailgate::net {

class Session;

// The live sessions of one I/O thread, for shutdown. Used only from that thread.
class SessionRegistry {
  public:
    void add(Session* session) { sessions_.insert(session); }
    void remove(Session* session) { sessions_.erase(session); }
    const std::unordered_set<Session*>& sessions() const { return sessions_; }
    bool empty() const { return sessions_.empty(); }

  private:
    std::unordered_set<Session*> sessions_;
};

}  // namespace mailgate::net
