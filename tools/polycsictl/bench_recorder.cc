#include "bench_recorder.hpp"

#include <algorithm>

namespace polycsi::csictl {

StepSamples& CallRecorder::slot(std::string_view step) {
  // A scenario has at most a dozen steps: a linear search beats a map here.
  for (StepSamples& samples : steps_) {
    if (samples.step == step) return samples;
  }
  steps_.push_back(StepSamples{std::string(step), {}, 0, {}});
  return steps_.back();
}

void CallRecorder::merge(const CallRecorder& other) {
  for (const StepSamples& theirs : other.steps_) {
    StepSamples& ours = slot(theirs.step);
    ours.latencies_ms.insert(ours.latencies_ms.end(), theirs.latencies_ms.begin(),
                             theirs.latencies_ms.end());
    if (ours.errors == 0 && theirs.errors > 0) ours.first_error = theirs.first_error;
    ours.errors += theirs.errors;
  }
}

}  // namespace polycsi::csictl
