// Stop strings over streamed text: finds the first stop string and holds back any suffix that
// could still become one, so streamed output never shows part of a stop string.
#pragma once

#include <string>
#include <vector>

namespace ivl::runtime {

class StopText {
 public:
  explicit StopText(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Adds new text; returns the text that is now safe to emit. Sets stopped() when a stop string
  // appeared (the returned text then ends just before it).
  std::string push(const std::string& text);
  // The held-back remainder, at the end of the generation (empty when stopped).
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& text() const { return emitted_; }  // everything emitted so far

 private:
  std::vector<std::string> stops_;
  std::string pending_, emitted_;
  bool stopped_ = false;
};

}  // namespace ivl::runtime
