#include "space_reservations.hpp"

#include "polycsi/types.hpp"

namespace polycsi::sample {

SpaceReservations::Hold& SpaceReservations::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    bytes_ = other.bytes_;
    other.owner_ = nullptr;
  }
  return *this;
}

void SpaceReservations::Hold::release() {
  if (owner_ == nullptr) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  owner_->held_ -= bytes_;
  owner_ = nullptr;
}

void SpaceReservations::Hold::commit(const std::function<void()>& makeVisible) {
  if (owner_ == nullptr) {
    makeVisible();
    return;
  }
  std::lock_guard<std::mutex> lock(owner_->mu_);
  makeVisible();
  owner_->held_ -= bytes_;
  owner_ = nullptr;
}

SpaceReservations::Hold SpaceReservations::reserve(int64_t bytes,
                                                   const std::function<int64_t()>& availableNow,
                                                   const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t available = availableNow() - held_;
  if (bytes > available)
    throw Error(Code::kResourceExhausted,
                what + " needs " + std::to_string(bytes) + " bytes but the backend has only " +
                    std::to_string(available > 0 ? available : 0) + " bytes available");
  held_ += bytes;
  return Hold(this, bytes);
}

int64_t SpaceReservations::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

}  // namespace polycsi::sample
