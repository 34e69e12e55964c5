#include "test_initiator.hpp"

extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}

#include <cstring>
#include <stdexcept>

namespace polycsi::testing {
namespace {

constexpr int kBlockSize = 512;

}  // namespace

TestInitiator::TestInitiator(const std::string& portal, const std::string& target_iqn,
                             const std::string& initiator_iqn,
                             const std::optional<ChapCredentials>& chap, int lun)
    : lun_(lun) {
  context_ = iscsi_create_context(initiator_iqn.c_str());
  if (context_ == nullptr) throw std::runtime_error("iscsi_create_context failed");
  iscsi_set_timeout(context_, 10);
  iscsi_set_targetname(context_, target_iqn.c_str());
  iscsi_set_session_type(context_, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(context_, ISCSI_HEADER_DIGEST_NONE);
  if (chap) iscsi_set_initiator_username_pwd(context_, chap->user.c_str(), chap->password.c_str());
  if (chap && !chap->target_user.empty())
    iscsi_set_target_username_pwd(context_, chap->target_user.c_str(),
                                  chap->target_password.c_str());
  if (iscsi_full_connect_sync(context_, portal.c_str(), lun_) != 0) {
    const std::string error = iscsi_get_error(context_);
    iscsi_destroy_context(context_);
    context_ = nullptr;
    throw std::runtime_error("iSCSI login to " + target_iqn + " as " + initiator_iqn +
                             " failed: " + error);
  }
  // A login alone does not prove the LUN is this initiator's: it must answer too.
  try {
    capacity();
  } catch (const std::exception& e) {
    iscsi_logout_sync(context_);
    iscsi_destroy_context(context_);
    context_ = nullptr;
    throw std::runtime_error("LUN " + std::to_string(lun_) + " of " + target_iqn + " as " +
                             initiator_iqn + ": " + e.what());
  }
}

TestInitiator::~TestInitiator() {
  if (context_ == nullptr) return;
  iscsi_logout_sync(context_);
  iscsi_destroy_context(context_);
}

std::uint64_t TestInitiator::capacity() {
  scsi_task* task = iscsi_readcapacity16_sync(context_, lun_);
  if (task == nullptr || task->status != SCSI_STATUS_GOOD) {
    if (task) scsi_free_scsi_task(task);
    throw std::runtime_error(std::string("READ CAPACITY failed: ") + iscsi_get_error(context_));
  }
  auto* data = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(task));
  if (data == nullptr) {
    scsi_free_scsi_task(task);
    throw std::runtime_error("READ CAPACITY answer unreadable");
  }
  const std::uint64_t bytes = (data->returned_lba + 1) * data->block_length;
  scsi_free_scsi_task(task);
  return bytes;
}

void TestInitiator::writeBlock(std::uint64_t lba, const std::vector<std::uint8_t>& data) {
  if (data.size() != kBlockSize) throw std::invalid_argument("writeBlock wants 512 bytes");
  std::vector<std::uint8_t> copy = data;
  scsi_task* task =
      iscsi_write16_sync(context_, lun_, lba, copy.data(), kBlockSize, kBlockSize, 0, 0, 0, 0, 0);
  const bool ok = task != nullptr && task->status == SCSI_STATUS_GOOD;
  if (task) scsi_free_scsi_task(task);
  if (!ok) throw std::runtime_error(std::string("WRITE failed: ") + iscsi_get_error(context_));
}

std::vector<std::uint8_t> TestInitiator::readBlock(std::uint64_t lba) {
  scsi_task* task = iscsi_read16_sync(context_, lun_, lba, kBlockSize, kBlockSize, 0, 0, 0, 0, 0);
  if (task == nullptr || task->status != SCSI_STATUS_GOOD) {
    if (task) scsi_free_scsi_task(task);
    throw std::runtime_error(std::string("READ failed: ") + iscsi_get_error(context_));
  }
  std::vector<std::uint8_t> block(task->datain.data, task->datain.data + task->datain.size);
  scsi_free_scsi_task(task);
  return block;
}

}  // namespace polycsi::testing
