// The loopback gRPC floor's server: the bench-only EmptyService, whose one
// call returns at once from a callback handler, served as `sweep server`
// serves (default gRPC server settings, callback API).
#ifndef SWEEP_BENCH_EMPTY_SERVER_H_
#define SWEEP_BENCH_EMPTY_SERVER_H_

#include <string>

namespace sweep::bench {

// Serves EmptyService on `listen` (host:port; port 0 picks one), prints
// "empty server listening on HOST:PORT" on stdout, and serves until SIGTERM
// or SIGINT. Returns the process exit status.
int RunEmptyServer(const std::string& listen);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_EMPTY_SERVER_H_
