#pragma once

#include <string>
#include <vector>

// What an opaque mg_load_context* points to while a plugin's create() runs: the config errors
// it reports, each with the path inside its config subtree.
struct mg_load_context {
    struct Error {
        std::string path;
        std::string message;
    };
    std::vector<Error> errors;
};
