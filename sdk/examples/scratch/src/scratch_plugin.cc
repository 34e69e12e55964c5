// The plugin's one exported symbol, polycsi_plugin_entry, for the scratch backend.
#include "polycsi/plugin.hpp"
#include "scratch_backend.hpp"

POLYCSI_PLUGIN(scratch::ScratchBackend)
