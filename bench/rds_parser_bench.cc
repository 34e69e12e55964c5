// The rds_nvme plugin's RouterOS `print detail` parser (parseDiskPrintDetail) over listings of
// 100 to 10,000 disks as rds-sim prints them. Target: 10,000 disks in under 50 ms.
#include <benchmark/benchmark.h>

#include <map>
#include <stdexcept>
#include <string>

#include "listing_generator.hpp"
#include "print_detail_parser.hpp"

namespace {

// Listings are generated once per size: generating is not what is measured.
const std::string& listing(int disks) {
  static std::map<int, std::string> cache;
  auto found = cache.find(disks);
  if (found == cache.end()) {
    found = cache.emplace(disks, polycsi::bench::generateDiskListing(disks)).first;
  }
  return found->second;
}

void BM_ParseDiskPrintDetail(benchmark::State& state) {
  const int disks = static_cast<int>(state.range(0));
  const std::string& text = listing(disks);
  for (auto _ : state) {
    auto entries = polycsi::rds_nvme::parseDiskPrintDetail(text);
    // Every disk plus the pool: a parser that lost entries would not be measured.
    if (entries.size() != static_cast<std::size_t>(disks) + 1) {
      state.SkipWithError("the parser returned the wrong number of entries");
      break;
    }
    benchmark::DoNotOptimize(entries.data());
  }
  state.counters["disks"] = disks;
  state.counters["listing_bytes"] = static_cast<double>(text.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseDiskPrintDetail)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
