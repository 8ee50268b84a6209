// One request at a time: prompt building, image encoding, prefill, the decode loop.
#pragma once

#include <atomic>
#include <memory>

#include "ivl/engine.h"
#include "model/llm/kv_cache.h"

namespace ivl::runtime {

class EngineImpl;

class SessionImpl final : public Session {
 public:
  explicit SessionImpl(std::shared_ptr<const EngineImpl> engine) : engine_(std::move(engine)) {}
  Result<Response> generate(const Request& request, const TokenCallback& on_token) override;
  void cancel() override { cancelled_.store(true); }

 private:
  std::shared_ptr<const EngineImpl> engine_;
  std::atomic<bool> cancelled_{false};
  model::KvCache cache_;  // kept between requests; regrown only when a request needs more
};

}  // namespace ivl::runtime
