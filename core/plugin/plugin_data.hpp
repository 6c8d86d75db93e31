#pragma once

#include <cstddef>
#include <vector>

namespace mailgate::plugin {

// Private data that plugins keep through the host, one slot per plugin (by its index in the
// chain). Owns the data: clear() and the destructor call each slot's free function.
class PluginDataSlots {
  public:
    using FreeFunction = void (*)(void*);

    PluginDataSlots() = default;
    ~PluginDataSlots() { clear(); }
    PluginDataSlots(const PluginDataSlots&) = delete;
    PluginDataSlots& operator=(const PluginDataSlots&) = delete;

    void set(size_t plugin, void* data, FreeFunction free_data) {
        if (plugin >= slots_.size()) {
            slots_.resize(plugin + 1);
        }
        release(slots_[plugin]);
        slots_[plugin] = {data, free_data};
    }

    void* get(size_t plugin) const {
        return plugin < slots_.size() ? slots_[plugin].data : nullptr;
    }

    // Moves this plugin's data (with its free function) into `other`, leaving the slot empty.
    void moveTo(size_t plugin, PluginDataSlots& other) {
        if (plugin < slots_.size() && slots_[plugin].data != nullptr) {
            other.set(plugin, slots_[plugin].data, slots_[plugin].free_data);
            slots_[plugin] = {};
        }
    }

    void clear() {
        for (auto& slot : slots_) {
            release(slot);
        }
        slots_.clear();
    }

  private:
    struct Slot {
        void* data = nullptr;
        FreeFunction free_data = nullptr;
    };

    static void release(Slot& slot) {
        if (slot.data != nullptr && slot.free_data != nullptr) {
            slot.free_data(slot.data);
        }
        slot = {};
    }

    std::vector<Slot> slots_;
};

}  // namespace mailgate::plugin
