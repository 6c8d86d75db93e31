// Boost.JSON's compiled part, built into this plugin (Boost.JSON is used header-only: this must
// be the only file that includes src.hpp).
#include <boost/json/src.hpp>
