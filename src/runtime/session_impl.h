// One request at a time: prompt building, image encoding, prefill, the decode loop.
// A request's working memory (its KV cache, the kernels' scratch buffers) lives only as long as
// the request: each request re-reads its whole conversation, so nothing of it is reused, and
// keeping it would stack one request's decode buffers under the next one's image encoding.
#pragma once

#include <atomic>
#include <memory>

#include "ivl/engine.h"

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
};

}  // namespace ivl::runtime
