// What the running kernel offers, for tests that need a kernel feature and skip without it.
// THREADING: pure reads of /proc; safe from any thread.
#pragma once

namespace polycsi::testing {

// Whether the kernel has device-mapper: its misc device is registered in /proc/misc. Not the
// existence of /dev/mapper/control, which libdevmapper creates even where the kernel has none.
bool kernelHasDeviceMapper();

}  // namespace polycsi::testing
