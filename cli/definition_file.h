// Reading a sweep definition file from disk for the CLI (search/ never
// touches files). Thread-safe.
#ifndef SWEEP_CLI_DEFINITION_FILE_H_
#define SWEEP_CLI_DEFINITION_FILE_H_

#include <string>

#include "search/spec_parser.h"

namespace sweep {

// Reads and parses the file. An unreadable or oversized file is reported as a
// diagnostic naming it, like any other error; nothing larger than
// kMaxDefinitionBytes is read into memory.
ParsedDefinition LoadDefinitionFile(const std::string& path);

// The file's text, or a diagnostic in *error (unreadable, not a regular file,
// too large). Returns false on error.
bool ReadDefinitionText(const std::string& path, std::string* text,
                        Diagnostic* error);

// Whether the sweep's program (a .py file), looked up as given and beside
// the sweep file, imports wandb: then its agents need --wandb-shim.
bool ProgramImportsWandb(const std::string& definition_text,
                         const std::string& definition_file);

}  // namespace sweep

#endif  // SWEEP_CLI_DEFINITION_FILE_H_
